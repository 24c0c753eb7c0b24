"""Capturing one object from every camera of a station without one bad camera holding up the
others. No Django here.

Synthetic cameras render on demand (their straw moves on once per capture). Real cameras each
get a grabber thread that keeps reading, so a capture takes every camera's newest frame at
once; a camera that fails, whatever the error, is reopened with backoff while the others go on,
and its view is reported offline with the reason until a fresh frame arrives. A read that never
returns (OpenCV cannot interrupt one) is left behind, and a new reader opens the camera anew.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from inspection.cameras import Camera, CameraError, Frame, camera_from_config
from inspection.cameras.synthetic import SyntheticCamera, SyntheticLine, line_defect_rates

log = logging.getLogger(__name__)
# A frame older than this is not the object in front of the camera now.
STALE_S = 2.0
# An open or read blocked this long is hung: OpenCV's own timeouts (5 s) have not ended it.
HUNG_S = 10.0
# Readers left behind on a hung camera that have not returned yet; past this many, no new
# reader opens that camera until one comes back, so a dead driver cannot pile up threads.
MAX_STUCK = 3
MAX_BACKOFF_S = 10.0


def describe(exc: BaseException) -> str:
    """One line on why a camera or capture failed, for pages and webhooks."""
    if isinstance(exc, CameraError):
        return str(exc)
    kind = type(exc).__name__
    if type(exc).__module__ != "builtins":
        kind = f"{type(exc).__module__.split('.')[0]}.{kind}"
    first, _, rest = str(exc).strip().partition("\n")
    if " error: " in first:
        # cv2.error: "OpenCV(5.0) <source path>: error: (-15:Bad number of channels) in
        # function '...'", then "> <what was wrong>" lines.
        first = first.split(" error: ", 1)[1].split(" in function ", 1)[0]
        details = [line.strip("> ").strip() for line in rest.splitlines()]
        first = " ".join([first, *[d for d in details if d][:1]])
    return f"{kind}: {first or 'no message'}"[:300]


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

    def __init__(self, camera: Camera, error: str = "starting"):
        super().__init__(name=f"grab-{camera.name}", daemon=True)
        self.camera = camera
        self.latest: Frame | None = None
        self.error = error
        # When the open or read in progress began (monotonic clock); None between calls.
        self.busy_since: float | None = None
        self._stopping = threading.Event()

    def run(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                self._call(self.camera.open)
                backoff = 0.5
                while not self._stopping.is_set():
                    self.latest = self._call(self.camera.read)
                    # Only a frame clears the last failure: until one arrives after reopening,
                    # the view is offline for that reason, not for "no fresh frame".
                    self.error = ""
            except Exception as exc:  # noqa: BLE001 - a driver's cv2.error must not end the thread
                self.error = describe(exc)  # before dropping the frame: take() reads both
                self.latest = None  # what it saw last is not in front of it now
                log.warning(
                    "camera %s: %s; retrying in %.1f s", self.camera.name, self.error, backoff
                )
            finally:
                with contextlib.suppress(Exception):
                    self.camera.close()
            self._stopping.wait(backoff)
            backoff = min(MAX_BACKOFF_S, backoff * 2)

    def _call(self, method):
        self.busy_since = time.monotonic()
        try:
            return method()
        finally:
            self.busy_since = None

    def hung(self, limit_s: float) -> bool:
        since = self.busy_since
        return since is not None and time.monotonic() - since > limit_s

    def stop(self) -> None:
        self._stopping.set()


class Capture:
    """A station's cameras, ready to take one object's views at a time.

    `make_camera` builds a camera from its config (the factory; tests give their own), and
    `hung_after_s` is how long an open or read may block before its reader is left behind."""

    def __init__(
        self,
        configs: list[dict],
        seed: int = 0,
        size=(256, 1248),
        make_camera: Callable[..., Camera] = camera_from_config,
        hung_after_s: float = HUNG_S,
    ):
        self.configs = configs
        self.make_camera = make_camera
        self.hung_after_s = hung_after_s
        self.line = SyntheticLine(seed, size, line_defect_rates(configs))
        self.cameras = [self._camera(i) for i in range(len(configs))]
        self.grabbers = {
            i: Grabber(cam)
            for i, cam in enumerate(self.cameras)
            if not isinstance(cam, SyntheticCamera)
        }
        self.stuck: dict[int, list[Grabber]] = {}
        for grabber in self.grabbers.values():
            grabber.start()

    def _camera(self, index: int) -> Camera:
        return self.make_camera(self.configs[index], index, len(self.configs), self.line)

    def take(self) -> list[View]:
        """Every camera's view of the next object (blocking: call from a worker thread)."""
        self.line.advance()
        self._replace_hung()
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

    def _replace_hung(self) -> None:
        for i, grabber in list(self.grabbers.items()):
            if not grabber.hung(self.hung_after_s):
                continue
            stuck = [g for g in self.stuck.get(i, []) if g.is_alive()]
            self.stuck[i] = stuck
            if len(stuck) >= MAX_STUCK:
                grabber.error = f"{len(stuck) + 1} reads hung; waiting for one to return"
                continue
            # Its camera object stays with the blocked call; the new reader gets its own.
            grabber.stop()
            stuck.append(grabber)
            log.warning(
                "camera %s: no answer for %.0f s; opening it anew",
                grabber.camera.name,
                self.hung_after_s,
            )
            fresh = Grabber(
                self._camera(i), f"reopened: a read hung for over {self.hung_after_s:.0f} s"
            )
            self.cameras[i] = fresh.camera
            self.grabbers[i] = fresh
            fresh.start()

    def close(self) -> None:
        for grabber in self.grabbers.values():
            grabber.stop()
        for stuck in self.stuck.values():
            for grabber in stuck:
                grabber.stop()
