"""The CPU's feature flags, read without torch (serving processes import this too)."""

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
