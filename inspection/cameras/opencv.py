"""OpenCV sources: USB devices (by index), network streams (RTSP, HTTP MJPEG) through the
FFmpeg backend, and video files (looping)."""

from __future__ import annotations

import time

import cv2

from inspection.cameras.base import Camera, CameraError, Frame, Pacer

# Settings a factory camera (Logitech C270 class and up) may take, by their OpenCV property.
PROPERTIES = {
    "width": cv2.CAP_PROP_FRAME_WIDTH,
    "height": cv2.CAP_PROP_FRAME_HEIGHT,
    "fps": cv2.CAP_PROP_FPS,
    "fourcc": cv2.CAP_PROP_FOURCC,
    "auto_exposure": cv2.CAP_PROP_AUTO_EXPOSURE,
    "exposure": cv2.CAP_PROP_EXPOSURE,
    "gain": cv2.CAP_PROP_GAIN,
    "autofocus": cv2.CAP_PROP_AUTOFOCUS,
    "focus": cv2.CAP_PROP_FOCUS,
    "auto_white_balance": cv2.CAP_PROP_AUTO_WB,
    "white_balance_temperature": cv2.CAP_PROP_WB_TEMPERATURE,
    "brightness": cv2.CAP_PROP_BRIGHTNESS,
    "contrast": cv2.CAP_PROP_CONTRAST,
}
# Read-back values are floats the driver rounds; this close counts as accepted.
TOLERANCE = 0.01
STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")


def open_attempts(source: int | str, timeout_ms: int) -> list[tuple[int, list[int]]]:
    """How to open `source`: (backend, parameters) to try in order.

    OpenCV treats a parameter that a backend does not use as a failed open, and only FFmpeg
    takes open and read timeouts: a USB device handed them is never opened by V4L2. So devices
    and files open without parameters, and network streams, which need the timeouts against
    dead hosts, go to FFmpeg with them first and without them if that build refuses them."""
    if isinstance(source, int):
        return [(cv2.CAP_ANY, [])]
    if source.startswith(STREAM_SCHEMES):
        timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms]
        timeouts += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
        return [(cv2.CAP_FFMPEG, timeouts), (cv2.CAP_FFMPEG, [])]
    return [(cv2.CAP_FFMPEG, []), (cv2.CAP_ANY, [])]


def fourcc_code(text: str) -> float:
    if len(text) != 4:
        raise CameraError(f"FOURCC must be 4 characters, got {text!r}")
    return float(cv2.VideoWriter_fourcc(*text))


def fourcc_text(value: float) -> str:
    code = int(value)
    return "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)) if code > 0 else ""


class OpenCVCamera(Camera):
    def __init__(
        self,
        name: str,
        source: int | str,
        settings: dict | None = None,
        loop: bool = False,
        open_timeout_ms: int = 5000,
    ):
        self.name = name
        self.source = source
        self.settings = dict(settings or {})
        unknown = set(self.settings) - set(PROPERTIES)
        if unknown:
            raise CameraError(
                f"unknown camera settings {sorted(unknown)}; known: {sorted(PROPERTIES)}"
            )
        self.loop = loop
        self.open_timeout_ms = open_timeout_ms
        self._cap: cv2.VideoCapture | None = None
        self.pacer: Pacer | None = None  # files only: set at open from the file's own rate
        self._report: dict = {}

    def open(self) -> None:
        self.close()
        for backend, params in open_attempts(self.source, self.open_timeout_ms):
            started = time.monotonic()
            cap = cv2.VideoCapture(self.source, backend, params)
            if cap.isOpened():
                self._cap = cap
                self._report = self._apply(cap)
                if self.loop:  # a video file: played at its own rate, as it was recorded
                    self.pacer = Pacer(self.settings.get("fps") or cap.get(cv2.CAP_PROP_FPS))
                return
            cap.release()
            if params and time.monotonic() - started >= self.open_timeout_ms / 2000:
                # It waited out the timeout, so it took the parameters: the source is not
                # there, and trying again without a timeout could block for minutes.
                break
        raise CameraError(f"{self.name}: cannot open {self.source!r}")

    def _apply(self, cap) -> dict:
        report = {}
        # FOURCC and size first: on UVC cameras they decide which rates and exposures exist.
        order = sorted(
            self.settings,
            key=lambda k: (
                ("fourcc", "width", "height").index(k) if k in ("fourcc", "width", "height") else 3
            ),
        )
        for key in order:
            wanted = self.settings[key]
            value = fourcc_code(wanted) if key == "fourcc" else float(wanted)
            cap.set(PROPERTIES[key], value)
        for key in order:
            wanted = self.settings[key]
            actual = cap.get(PROPERTIES[key])
            if key == "fourcc":
                got = fourcc_text(actual)
                accepted = got == wanted
            else:
                got = actual
                accepted = abs(actual - float(wanted)) <= TOLERANCE * max(1.0, abs(float(wanted)))
            report[key] = {"requested": wanted, "actual": got, "accepted": accepted}
        return report

    def settings_report(self) -> dict:
        return dict(self._report)

    def read(self) -> Frame:
        if self._cap is None:
            raise CameraError(f"{self.name}: not open")
        if self.pacer is not None:
            self.pacer.wait()
        ok, bgr = self._cap.read()
        if not ok and self.loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self._cap.read()
        if not ok or bgr is None:
            raise CameraError(f"{self.name}: no frame from {self.source!r}")
        if bgr.ndim == 2:
            bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
        return Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), time.time())

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
