"""Peak resident memory of fresh serving processes holding 1 and 6 models."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path


def _probe(folder: str, name: str, count: int, size) -> tuple[float, bool]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "defect_platform.bench.serve_probe",
            folder,
            name,
            str(count),
            *map(str, size),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    rss, torch_loaded = out.stdout.split()[-2:]
    return float(rss), bool(int(torch_loaded))


def measure(engine, fused: tuple[bytes, str] | None = None) -> dict:
    """Peak RSS serving 1 and 6 models; with `fused` (ONNX, runtime), also one fused network
    standing for the 6 defect types."""
    figures = {}
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        root = Path(folder)
        (root / "model.onnx").write_bytes(engine.onnx)
        if engine.int8:
            (root / "int8.xml").write_bytes(engine.int8[0])
            (root / "int8.bin").write_bytes(engine.int8[1])
        for count in (1, 6):
            rss, torch_loaded = _probe(folder, engine.runtime, count, engine.size)
            figures[f"memory.serving_rss_mb_{count}_model{'s' if count > 1 else ''}"] = rss
            figures["memory.serving_imports_torch"] = torch_loaded
    if fused is not None:
        with tempfile.TemporaryDirectory(prefix="bench-serve-fused-") as folder:
            (Path(folder) / "model.onnx").write_bytes(fused[0])
            figures["memory.serving_rss_mb_fused"] = _probe(folder, fused[1], 1, engine.size)[0]
    return figures
