"""What the figures were measured on."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from training.ml import runtime
from training.ml.cpu import cpu_flags


def describe() -> dict:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    flags = cpu_flags()
    info = {
        "cpu": model,
        "cores": len(os.sched_getaffinity(0)),
        "avx512": "avx512f" in flags,
        "avx512_vnni": "avx512_vnni" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
        "amx": bool({"amx_tile", "amx_bf16"} & flags),
        "runtimes": runtime.available(),
    }
    import torch

    from training.ml.device import cpu_has_bf16

    # Whether bf16 beat fp32 here (AMX, or timed where the flags cannot tell: cpu.py).
    info["bf16_trains_faster"] = cpu_has_bf16(flags)
    if runtime.OV_BF16 in info["runtimes"] and runtime.OV_FP32 in info["runtimes"]:
        ranking = info["runtimes"]
        info["bf16_serves_faster"] = ranking.index(runtime.OV_BF16) < ranking.index(runtime.OV_FP32)

    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
