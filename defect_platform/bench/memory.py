"""Peak resident memory of fresh serving processes holding 1 and 6 models."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from defect_platform.bench import variants
from training.ml import runtime

# As deployed (deploy/Dockerfile, run.sh, .env.example): the arenas are part of the peak.
SERVING_ENV = {"MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "1")}


def _probe(folder: str, name: str, count: int, size, mode: str) -> tuple[float, bool]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "defect_platform.bench.serve_probe",
            folder,
            name,
            str(count),
            *map(str, size),
            mode,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
        env={**os.environ, **SERVING_ENV},
    )
    rss, torch_loaded = out.stdout.split()[-2:]
    return float(rss), bool(int(torch_loaded))


def measure(engine, copies: list[variants.Artifacts], fused=None) -> dict:
    """Peak RSS serving 1 and 6 distinct models (`copies`): six as the engine serves a
    station (merged into one network where the runtime can), and six apart for the ratio;
    with `fused` (ensemble.Fused), also one fused network standing for the 6 defect types."""
    figures = {}
    six = len(copies)
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        variants.write(Path(folder), copies)
        rss, torch_loaded = _probe(folder, engine.runtime, 1, engine.size, "separate")
        figures["memory.serving_rss_mb_1_model"] = rss
        figures["memory.serving_imports_torch"] = torch_loaded
        merged = engine.runtime in runtime.MERGEABLE
        figures["memory.serving_6_models_merged"] = merged
        rss, _ = _probe(folder, engine.runtime, six, engine.size, "merged")
        figures["memory.serving_rss_mb_6_models"] = rss
        rss, _ = _probe(folder, engine.runtime, six, engine.size, "separate")
        figures["memory.serving_rss_mb_6_models_separate"] = rss
    if fused is not None:
        with tempfile.TemporaryDirectory(prefix="bench-serve-fused-") as folder:
            variants.write(Path(folder), [(fused.onnx, fused.int8)])
            rss, _ = _probe(folder, fused.runtime, 1, engine.size, "separate")
            figures["memory.serving_rss_mb_fused"] = rss
    return figures
