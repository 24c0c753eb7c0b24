"""The CPU's feature flags, read without torch (serving processes import this too), and the
rule for when bf16 is worth taking on a CPU."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


def parse_cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The first processor's feature flags in a /proc/cpuinfo text."""
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    try:
        return parse_cpu_flags(Path("/proc/cpuinfo").read_text())
    except OSError:
        return frozenset()


# bf16 must beat fp32 by this factor to be chosen: a margin over run-to-run noise.
BF16_MARGIN = 1.15


def bf16_worth_measuring(flags: frozenset[str]) -> bool:
    """AVX-512 BF16 without AMX: fast on some CPUs, slow on others, so measured.

    On an AVX-512 BF16 Xeon without AMX, a U-Net + MobileNetV2 training step took 2.8 s in
    bf16 against 2.2 s in fp32, and OpenVINO inference 245 against 176 ms; on an AMD EPYC with
    the same flags bf16 took half the time of fp32 in both (1.3 against 2.8 s, 177 against
    356 ms). The flags cannot tell these apart; a few milliseconds of measurement can.
    """
    return "avx512_bf16" in flags and "amx_bf16" not in flags


def bf16_is_faster(fp32_s: list[float], bf16_s: list[float]) -> bool:
    """Medians of interleaved timings: bf16 wins only by more than BF16_MARGIN."""
    fp32 = sorted(fp32_s)[len(fp32_s) // 2]
    bf16 = sorted(bf16_s)[len(bf16_s) // 2]
    return fp32 >= BF16_MARGIN * bf16
