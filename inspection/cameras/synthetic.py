"""The synthetic line: straws pass at a set rate; each camera of a station renders its own
angle of the same straw, with defects at set rates."""

from __future__ import annotations

import math
import threading
import time

from defect_platform.synthetic import straws
from inspection.cameras.base import Camera, Frame


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
