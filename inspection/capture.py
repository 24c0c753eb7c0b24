"""Capturing one object from every camera of a station without one bad camera holding up the
others. No Django here.

Synthetic cameras render on demand (their straw moves on once per capture). Real cameras each
get a grabber thread that keeps reading, so a capture takes every camera's newest frame at
once; a camera that fails is reopened with backoff while the others go on, and its view is
reported offline until a fresh frame arrives.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from inspection.cameras import Camera, CameraError, Frame, camera_from_config
from inspection.cameras.synthetic import SyntheticCamera, SyntheticLine

log = logging.getLogger(__name__)
# A frame older than this is not the object in front of the camera now.
STALE_S = 2.0
MAX_BACKOFF_S = 10.0


@dataclass
class View:
    camera: str
    index: int
    image: np.ndarray | None  # None while the camera is offline
    captured_at: float | None
    status: str  # "online" | "offline"
    error: str = ""


class Grabber(threading.Thread):
    """Reads one real camera continuously, reopening it when it fails."""

    def __init__(self, camera: Camera):
        super().__init__(name=f"grab-{camera.name}", daemon=True)
        self.camera = camera
        self.latest: Frame | None = None
        self.error = "starting"
        self._stop = threading.Event()

    def run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self.camera.open()
                self.error = ""
                backoff = 0.5
                while not self._stop.is_set():
                    self.latest = self.camera.read()
            except CameraError as exc:
                self.error = str(exc)
                log.warning("camera %s: %s; retrying in %.1f s", self.camera.name, exc, backoff)
            finally:
                self.camera.close()
            self._stop.wait(backoff)
            backoff = min(MAX_BACKOFF_S, backoff * 2)

    def stop(self) -> None:
        self._stop.set()


class Capture:
    """A station's cameras, ready to take one object's views at a time."""

    def __init__(self, configs: list[dict], seed: int = 0, size=(256, 1248)):
        self.line = SyntheticLine(seed, size)
        self.cameras = [
            camera_from_config(c, i, len(configs), self.line) for i, c in enumerate(configs)
        ]
        self.grabbers = {
            i: Grabber(cam)
            for i, cam in enumerate(self.cameras)
            if not isinstance(cam, SyntheticCamera)
        }
        for grabber in self.grabbers.values():
            grabber.start()

    def take(self) -> list[View]:
        """Every camera's view of the next object (blocking: call from a worker thread)."""
        self.line.advance()
        now = time.time()
        views = []
        for i, camera in enumerate(self.cameras):
            grabber = self.grabbers.get(i)
            if grabber is None:
                frame = camera.read()
                views.append(View(camera.name, i, frame.image, frame.captured_at, "online"))
                continue
            frame = grabber.latest
            if frame is None or now - frame.captured_at > STALE_S:
                reason = grabber.error or "no fresh frame"
                views.append(View(camera.name, i, None, None, "offline", reason))
            else:
                views.append(View(camera.name, i, frame.image, frame.captured_at, "online"))
        return views

    def close(self) -> None:
        for grabber in self.grabbers.values():
            grabber.stop()
