"""Where and in which precision to run: CUDA when present, bf16 on CPUs where it is faster."""

from __future__ import annotations

import contextlib
import functools
import time

import torch

from training.ml.cpu import bf16_is_faster, bf16_worth_measuring, cpu_flags


def cpu_has_bf16(flags: frozenset[str] | None = None) -> bool:
    """Whether bf16 autocast trains faster than fp32 on this CPU (or one with `flags`): always
    with AMX's bf16 matrix units, measured with AVX-512 BF16 alone (cpu.bf16_worth_measuring),
    never without either."""
    flags = cpu_flags() if flags is None else flags
    if "amx_bf16" in flags:
        return True
    return bf16_worth_measuring(flags) and bf16_trains_faster()


@functools.cache
def bf16_trains_faster() -> bool:
    """Times a few training steps of a small stack of 3x3 convolutions (the bulk of a U-Net's
    work) in fp32 and in bf16 autocast, channels_last, interleaved; about a second, once per
    process."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        *[m for _ in range(3) for m in (torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.ReLU())]
    ).to(memory_format=torch.channels_last)
    x = torch.randn(4, 64, 64, 64).contiguous(memory_format=torch.channels_last)

    def step(bf16: bool) -> float:
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = net(x)
        out.float().square().mean().backward()
        return time.perf_counter() - started

    step(False), step(True)  # first calls pick kernels
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(5):
        for bf16 in (False, True):
            times[bf16].append(step(bf16))
    net.zero_grad(set_to_none=True)
    return bf16_is_faster(times[False], times[True])


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def pick_precision(
    device: torch.device, requested: str = "auto", flags: frozenset[str] | None = None
) -> str:
    """ "bf16" or "fp16" (autocast) or "fp32"; on a CPU, `flags` are its features (this
    machine's when None)."""
    if requested != "auto":
        return requested
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_has_bf16(flags) else "fp32"


def autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)
