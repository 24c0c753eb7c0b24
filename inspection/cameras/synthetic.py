"""The synthetic line: straws pass at a set rate; each camera of a station renders its own
angle of the same straw, with defects at set rates."""

from __future__ import annotations

import math
import threading
import time

from defect_platform.synthetic import straws
from inspection.cameras.base import Camera, CameraError, Frame


def check_defect_rates(rates) -> dict[str, float]:
    """`{defect type: probability from 0 to 1}` for the synthetic line; CameraError names what
    is wrong. Types left out keep the generator's default rate."""
    if not isinstance(rates, dict):
        raise CameraError(f"defect_rates maps defect types to rates, got {rates!r}")
    unknown = sorted(set(rates) - set(straws.DEFECT_TYPES))
    if unknown:
        raise CameraError(
            f"unknown defect types in defect_rates: {unknown}; known: {list(straws.DEFECT_TYPES)}"
        )
    clean = {}
    for kind, rate in rates.items():
        number = isinstance(rate, int | float) and not isinstance(rate, bool)
        if not number or not 0.0 <= rate <= 1.0:  # NaN fails the range too
            raise CameraError(f"defect_rates[{kind!r}] is a number from 0 to 1, got {rate!r}")
        clean[kind] = float(rate)
    return clean


def line_defect_rates(configs: list) -> dict[str, float] | None:
    """The defect rates of a station's synthetic line, from its synthetic cameras' configs.
    They all film the same straw, so the cameras that give rates must give the same ones."""
    given = [
        check_defect_rates(c["defect_rates"])
        for c in configs
        if isinstance(c, dict)
        and c.get("kind", "synthetic") == "synthetic"
        and c.get("defect_rates") is not None
    ]
    if any(rates != given[0] for rates in given[1:]):
        raise CameraError(
            "the synthetic cameras of a station film one line: give them the same defect_rates"
        )
    return given[0] if given else None


class SyntheticLine:
    """The straw in front of the cameras; every camera of one line sees the same one."""

    def __init__(self, seed: int = 0, size=(256, 1248), defect_rates: dict | None = None):
        self.seed = seed
        self.size = tuple(size)
        self.defect_rates = defect_rates
        self.object_index = 0
        self._lock = threading.Lock()
        self._spec = None

    def advance(self) -> int:
        """The next straw arrives."""
        with self._lock:
            self.object_index += 1
            self._spec = None
            return self.object_index

    def spec(self):
        with self._lock:
            if self._spec is None:
                seed = self.seed * 1_000_003 + self.object_index
                self._spec = straws.sample_straw(seed, self.defect_rates)
            return self._spec


class SyntheticCamera(Camera):
    def __init__(self, name: str, line: SyntheticLine, index: int, count: int):
        self.name = name
        self.line = line
        self.angle = 2 * math.pi * index / max(1, count)

    def read(self) -> Frame:
        view = straws.render_view(self.line.spec(), camera_angle=self.angle, size=self.line.size)
        return Frame(view.image, time.time())
