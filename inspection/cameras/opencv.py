"""OpenCV sources: USB devices (by index), network streams (RTSP, HTTP MJPEG) through the
FFmpeg backend, and video files (looping)."""

from __future__ import annotations

import time

import cv2

from inspection.cameras.base import Camera, CameraError, Frame

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
        self._report: dict = {}

    def open(self) -> None:
        self.close()
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, self.open_timeout_ms]
        params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, self.open_timeout_ms]
        if isinstance(self.source, int):
            cap = cv2.VideoCapture(self.source, cv2.CAP_ANY, params)
        else:
            cap = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"{self.name}: cannot open {self.source!r}")
        self._cap = cap
        self._report = self._apply(cap)

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
