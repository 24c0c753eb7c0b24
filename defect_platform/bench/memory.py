"""Peak resident memory of fresh serving processes holding 1 and 6 models."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path


def measure(engine) -> dict:
    figures = {}
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        root = Path(folder)
        (root / "model.onnx").write_bytes(engine.onnx)
        if engine.int8:
            (root / "int8.xml").write_bytes(engine.int8[0])
            (root / "int8.bin").write_bytes(engine.int8[1])
        for count in (1, 6):
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "defect_platform.bench.serve_probe",
                    folder,
                    engine.runtime,
                    str(count),
                    *map(str, engine.size),
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            )
            rss, torch_loaded = out.stdout.split()[-2:]
            figures[f"memory.serving_rss_mb_{count}_model{'s' if count > 1 else ''}"] = float(rss)
            figures["memory.serving_imports_torch"] = bool(int(torch_loaded))
    return figures
