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


def _write(folder: Path, onnx: bytes, int8: tuple[bytes, bytes] | None) -> None:
    (folder / "model.onnx").write_bytes(onnx)
    if int8:
        (folder / "int8.xml").write_bytes(int8[0])
        (folder / "int8.bin").write_bytes(int8[1])


def measure(engine, fused=None) -> dict:
    """Peak RSS serving 1 and 6 models; with `fused` (ensemble.Fused), also one fused network
    standing for the 6 defect types."""
    figures = {}
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        _write(Path(folder), engine.onnx, engine.int8)
        for count in (1, 6):
            rss, torch_loaded = _probe(folder, engine.runtime, count, engine.size)
            figures[f"memory.serving_rss_mb_{count}_model{'s' if count > 1 else ''}"] = rss
            figures["memory.serving_imports_torch"] = torch_loaded
    if fused is not None:
        with tempfile.TemporaryDirectory(prefix="bench-serve-fused-") as folder:
            _write(Path(folder), fused.onnx, fused.int8)
            rss, _ = _probe(folder, fused.runtime, 1, engine.size)
            figures["memory.serving_rss_mb_fused"] = rss
    return figures
