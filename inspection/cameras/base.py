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


REPLAY_FPS = 10.0  # a folder or a file without a frame rate of its own plays at this rate


class Pacer:
    """Holds a replayed source (a folder, a video file) to a frame rate.

    A real camera's read waits for its shutter; a file answers at once, so without this a
    replay's grabber thread would decode frames as fast as a core allows, for nothing.
    """

    def __init__(self, fps: float | None):
        self.interval = 1.0 / fps if fps and fps > 0 else 1.0 / REPLAY_FPS
        self._due = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if self._due > now:
            time.sleep(self._due - now)
            now = self._due
        # A late reader (slow decode, a busy machine) does not try to catch up in a burst.
        self._due = max(now, self._due) + self.interval
