"""Triggered captures: one object from every camera of a station, judged at once.

Where a runner holds the station's cameras (the web process's own, or `run_station`), the
trigger goes to it (trigger_relay.py). Otherwise this process captures: the cameras stay open
between triggers (a grabber per real camera), so a trigger takes the
newest frames instead of paying for a connection each time. They close when their station is
stopped, re-cabled or deleted: at once where that happens in this process (the station's
signals), otherwise at the next trigger of any station here, which first looks at the rows of
every station it holds cameras for.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import close_old_connections
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from inspection import live, services, station_host, station_state, trigger_relay
from inspection.capture import Capture, describe
from inspection.models import InspectionRecord, Station
from training import registry

_captures: dict[int, tuple[str, Capture]] = {}
_lock = threading.Lock()
# How long closing waits for a station's grabbers to return from their current read.
CLOSE_WAIT_S = 2.0


class CaptureFailed(Exception):
    """The station's saved cameras cannot be opened or read; the message says why."""


def _capture_for(station) -> Capture:
    key = repr(station.cameras)
    with _lock:
        cached = _captures.get(station.pk)
        if cached and cached[0] == key:
            return cached[1]
        if cached:
            del _captures[station.pk]
            _close(cached[1])  # the cameras were reconfigured
        cameras = station.cameras
        if not isinstance(cameras, list) or not cameras:
            raise CaptureFailed(f"Station {station.name!r} has no cameras set up.")
        if not all(isinstance(c, dict) for c in cameras):
            raise CaptureFailed(f"Station {station.name!r}: each camera must be an object.")
        try:
            capture = Capture(cameras, station.pk, live.FRAME_SIZE)
        except Exception as exc:  # noqa: BLE001 - any bad saved config (admin, old rows)
            raise CaptureFailed(
                f"Station {station.name!r}: its cameras cannot be opened: {describe(exc)}"
            ) from None
        _captures[station.pk] = (key, capture)
        return capture


def _close(capture: Capture, wait_s: float = CLOSE_WAIT_S) -> None:
    capture.close()
    deadline = time.monotonic() + wait_s
    for grabber in capture.grabbers.values():
        grabber.join(max(0.0, deadline - time.monotonic()))


def drop(station_id: int) -> None:
    """Close the station's cached cameras, if this process holds any."""
    with _lock:
        cached = _captures.pop(station_id, None)
    if cached:
        _close(cached[1])


def _drop_outdated() -> None:
    """Close the cameras of stations stopped, re-cabled or deleted in another process."""
    with _lock:
        held = {pk: key for pk, (key, _) in _captures.items()}
    if not held:
        return
    rows = Station.objects.filter(pk__in=held, active=True).values_list("pk", "cameras")
    current = {pk: repr(cameras) for pk, cameras in rows}
    for pk, key in held.items():
        if current.get(pk) != key:
            drop(pk)


@receiver(post_save, sender=Station, dispatch_uid="triggering-station-saved")
def _station_saved(sender, instance, **kwargs) -> None:
    cached = _captures.get(instance.pk)
    if cached and (not instance.active or cached[0] != repr(instance.cameras)):
        drop(instance.pk)


@receiver(post_delete, sender=Station, dispatch_uid="triggering-station-deleted")
def _station_deleted(sender, instance, **kwargs) -> None:
    drop(instance.pk)


def trigger(user, station, projects, serial="", lot="", idempotency_key=""):
    """Capture and inspect one object; offline cameras and a skewed capture are reported.
    Raises StationStopped, NoModel, CaptureFailed when the saved cameras cannot be used, or
    StationUnreachable when the runner holding the cameras does not answer."""
    earlier = services.earlier_record(user, idempotency_key)
    if earlier:
        return earlier
    station_state.require_active(station)
    if settings.STATIONS_IN_WEB and not station_host.running():
        # No runner can hold the cameras: a WSGI server, a shell, tests.
        return trigger_here(user, station, projects, serial, lot, idempotency_key)
    station_host.wake()  # started a moment ago: its runner starts now, not within a second
    answer = trigger_relay.ask(
        station, user, [p.pk for p in projects], serial, lot, idempotency_key
    )
    if "record" in answer:
        return InspectionRecord.objects.get(pk=answer["record"])
    if answer["error"] == "no_model":
        raise registry.NoModel(answer["message"])
    if answer["error"] == "station_stopped":
        raise station_state.StationStopped(station)
    if answer["error"] == "cameras_unusable":
        raise CaptureFailed(answer["message"])
    raise trigger_relay.TriggerFailed(answer["message"])


def judge_for_runner(message: dict, station_id: int, views, started: float) -> dict:
    """A runner's side of a relayed trigger (in its judging thread): the answer to send."""
    close_old_connections()
    user = get_user_model().objects.filter(pk=message["user"], is_active=True).first()
    station = Station.objects.filter(pk=station_id).first()
    if user is None or station is None:
        return {"error": "trigger_failed", "message": "the user or the station is gone"}
    key = message["idempotency_key"]
    earlier = services.earlier_record(user, key)
    if earlier:
        return {"record": earlier.pk}
    projects = list(station.projects.filter(pk__in=message["projects"]))
    try:
        record = judge_capture(
            user, station, projects, views, started, message["serial"], message["lot"], key
        )
    except registry.NoModel as exc:
        return {"error": "no_model", "message": str(exc)}
    return {"record": record.pk}


def trigger_here(user, station, projects, serial="", lot="", idempotency_key=""):
    """Capture with cameras this process opens (and keeps open) itself."""
    _drop_outdated()
    started = time.perf_counter()
    capture = _capture_for(station)
    try:
        views = capture.take()
    except Exception as exc:  # noqa: BLE001 - a camera the factory built but cannot render
        drop(station.pk)
        raise CaptureFailed(
            f"Station {station.name!r}: capturing failed: {describe(exc)}"
        ) from None
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
        held = [capture for _, capture in _captures.values()]
        _captures.clear()
    for capture in held:
        _close(capture)
