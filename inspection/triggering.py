"""Triggered captures: one object from every camera of a station, judged at once.

The cameras stay open between triggers (a grabber per real camera), so a trigger takes the
newest frames instead of paying for a connection each time.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from inspection import live, services, station_state
from inspection.capture import Capture

_captures: dict[int, tuple[str, Capture]] = {}
_lock = threading.Lock()


def _capture_for(station) -> Capture:
    key = repr(station.cameras)
    with _lock:
        cached = _captures.get(station.pk)
        if cached and cached[0] == key:
            return cached[1]
        if cached:
            cached[1].close()  # the cameras were reconfigured
        capture = Capture(station.cameras, station.pk, live.FRAME_SIZE)
        _captures[station.pk] = (key, capture)
        return capture


def trigger(user, station, projects, serial="", lot="", idempotency_key=""):
    """Capture and inspect one object; offline cameras and a skewed capture are reported."""
    earlier = services.earlier_record(user, idempotency_key)
    if earlier:
        return earlier
    station_state.require_active(station)
    started = time.perf_counter()
    views = _capture_for(station).take()
    return judge_capture(user, station, projects, views, started, serial, lot, idempotency_key)


def judge_capture(
    user,
    station,
    projects,
    views,
    started,
    serial="",
    lot="",
    idempotency_key="",
    models=None,
    shadows=None,
):
    """Judge one capture's views (capture.View) and store the record: offline cameras and
    views further apart than the station's skew limit are listed as issues."""
    online = [v for v in views if v.status == "online" and v.image is not None]
    issues = {v.camera: [f"camera offline: {v.error}"] for v in views if v not in online}
    if len(online) > 1:
        stamps = [v.captured_at for v in online]
        skew_ms = (max(stamps) - min(stamps)) * 1000
        if skew_ms > station.max_skew_ms:
            issues["capture"] = [
                f"views {skew_ms:.0f} ms apart (the limit is {station.max_skew_ms} ms)"
            ]
    return services.inspect_views(
        user,
        projects,
        station,
        [(v.camera, v.image) for v in online],
        started,
        serial,
        lot,
        idempotency_key,
        issues,
        view_times={v.camera: _when(v.captured_at) for v in online},
        models=models,
        shadows=shadows,
    )


def _when(epoch: float | None):
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch else None


def close_all() -> None:
    """Stop every cached capture's grabbers (tests, and a process shutting down)."""
    with _lock:
        for _, capture in _captures.values():
            capture.close()
        _captures.clear()
