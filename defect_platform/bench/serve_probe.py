"""A fresh serving process for the memory benchmark: Django and the engine's modules loaded as
a station worker loads them, then N models (FOLDER's model{k}.onnx, int8_{k}.xml/.bin from
bench/variants.py) opened on one runtime, merged into one network as the engine serves a
station or each apart, one inference each, and the peak resident memory (VmHWM) printed.
Run as `python -m defect_platform.bench.serve_probe FOLDER RUNTIME N HEIGHT WIDTH MODE`.
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


def _artifacts(root: Path, k: int, int8: bool):
    # What the registry reads: the int8 runtime only its IR (registry._files).
    if not int8:
        return (root / f"model{k}.onnx").read_bytes(), None
    return b"", ((root / f"int8_{k}.xml").read_bytes(), (root / f"int8_{k}.bin").read_bytes())


def main(folder: str, name: str, count: str, height: str, width: str, mode: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "defect_platform.settings")
    import django

    django.setup()
    import numpy as np

    import inspection.engine  # noqa: F401 - the serving path, as a worker imports it
    from training.ml import runtime

    root = Path(folder)
    # Read as the registry reads them: one model's files at a time.
    models = (_artifacts(root, k, name == runtime.OV_INT8) for k in range(int(count)))
    x = np.zeros((1, 3, int(height), int(width)), np.float32)
    if mode == "merged" and int(count) > 1:
        runners = [runtime.open_merged_runner(name, models)]
    else:
        runners = [runtime.open_runner(name, *artifacts) for artifacts in models]
    for run in runners:
        run(x)
    sys.stdout.write(f"{peak_rss_mb():.1f} {int('torch' in sys.modules)}\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
