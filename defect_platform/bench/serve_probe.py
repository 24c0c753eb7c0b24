"""A fresh serving process for the memory benchmark: Django and the engine's modules loaded as
a station worker loads them, then N models opened on one runtime, one inference each, and the
peak resident memory (VmHWM) printed. Run as
`python -m defect_platform.bench.serve_probe FOLDER RUNTIME N HEIGHT WIDTH`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main(folder: str, name: str, count: str, height: str, width: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "defect_platform.settings")
    import django

    django.setup()
    import numpy as np

    import inspection.engine  # noqa: F401 - the serving path, as a worker imports it
    from training.ml import runtime

    root = Path(folder)
    onnx = (root / "model.onnx").read_bytes()
    int8 = None
    if name == runtime.OV_INT8:
        int8 = ((root / "int8.xml").read_bytes(), (root / "int8.bin").read_bytes())
    x = np.zeros((1, 3, int(height), int(width)), np.float32)
    runners = [runtime.open_runner(name, onnx, int8) for _ in range(int(count))]
    for run in runners:
        run(x)
    sys.stdout.write(f"{peak_rss_mb():.1f} {int('torch' in sys.modules)}\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
