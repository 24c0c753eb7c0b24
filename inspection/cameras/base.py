"""What every camera does: open, read a frame with its own timestamp, close."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np


class CameraError(RuntimeError):
    """A camera that cannot deliver frames now (unplugged, stream down); the message says why."""


@dataclass
class Frame:
    image: np.ndarray  # HxWx3 uint8 RGB
    captured_at: float = field(default_factory=time.time)  # seconds since the epoch


class Camera:
    name: str = "camera"

    def open(self) -> None:
        """Connect; raises CameraError when the source is not there."""

    def read(self) -> Frame:
        """The next frame; raises CameraError when none comes."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the source; safe to call twice."""

    def settings_report(self) -> dict:
        """Per setting: what was asked, what the source reports back, whether it took."""
        return {}

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()
