"""Cameras from a station's configuration: a list of dicts such as
{"name": "cam1", "kind": "opencv", "source": 0, "settings": {"fourcc": "MJPG", "fps": 30}},
{"kind": "stream", "source": "rtsp://..."}, {"kind": "video", "source": "line.mp4"},
{"kind": "folder", "source": "/data/replay", "fps": 5} (replays play at their own rate, or
"fps"; folders at 10 by default) or {"kind": "synthetic", "defect_rates": {"crack":
0.05}} (rates per defect type of the synthetic generator; the others keep its default)."""

from __future__ import annotations

from inspection.cameras.base import Camera, CameraError
from inspection.cameras.folder import FolderCamera
from inspection.cameras.opencv import STREAM_SCHEMES, OpenCVCamera
from inspection.cameras.synthetic import SyntheticCamera, SyntheticLine, check_defect_rates

KINDS = ("synthetic", "opencv", "stream", "video", "folder")


def _replay_fps(name: str, value) -> float | None:
    if value in (None, ""):
        return None
    try:
        fps = float(value)
    except (TypeError, ValueError):
        fps = float("nan")
    if not 0.1 <= fps <= 120:  # NaN fails this too
        raise CameraError(f"{name}: a replay's fps is a number from 0.1 to 120, got {value!r}")
    return fps


def camera_from_config(
    config: dict, index: int, count: int, line: SyntheticLine | None = None
) -> Camera:
    name = str(config.get("name") or f"cam{index + 1}")
    kind = config.get("kind", "synthetic")
    source = config.get("source")
    if kind == "synthetic":
        if config.get("defect_rates") is not None:
            check_defect_rates(config["defect_rates"])  # the line uses them (capture.py)
        return SyntheticCamera(name, line or SyntheticLine(), index, count)
    if source in (None, ""):
        raise CameraError(f"{name}: a {kind} camera needs a source")
    if kind == "opencv":
        try:
            device = int(source)
        except (TypeError, ValueError):
            raise CameraError(f"{name}: an OpenCV device is a number, got {source!r}") from None
        return OpenCVCamera(name, device, config.get("settings"))
    if kind == "stream":
        if not str(source).startswith(STREAM_SCHEMES):
            raise CameraError(f"{name}: a stream is an rtsp:// or http(s):// URL")
        return OpenCVCamera(name, str(source), config.get("settings"))
    if kind == "video":
        return OpenCVCamera(name, str(source), config.get("settings"), loop=True)
    if kind == "folder":
        return FolderCamera(name, source, fps=_replay_fps(name, config.get("fps")))
    raise CameraError(f"{name}: unknown camera kind {kind!r}; choose from {KINDS}")
