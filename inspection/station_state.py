"""Starting and stopping a station. The flag lives in the database, so the web process
(embedded mode) and `manage.py run_station` (scaled out) both follow it: their runner reads it
about once a second, closes the cameras when stopped and opens them again when started."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from defect_platform.core import audit_log
from inspection import station_host
from inspection.models import Station


class StationStopped(Exception):
    """A capture was asked of a station that is stopped."""

    def __init__(self, station: Station):
        super().__init__(f"Station {station.name!r} is stopped: start it before triggering.")


def set_active(station: Station, user, active: bool) -> Station:
    if station.active != active:
        station.active = active
        station.state_changed_by = user
        station.state_changed_at = timezone.now()
        action = audit_log.Action.STATION_STARTED if active else audit_log.Action.STATION_STOPPED
        with transaction.atomic():
            station.save(update_fields=["active", "state_changed_by", "state_changed_at"])
            record_for_projects(station, user, action)
            if active:  # an embedded runner starts at once; a stopped one sees it within 1 s
                transaction.on_commit(station_host.wake)
    return station


def record_for_projects(station: Station, user, action: str, **detail) -> None:
    """A station spans projects: each project's owners see what was done to it."""
    for project in station.projects.all():
        audit_log.record(user, action, project, f"station {station.name}", **detail)


def require_active(station: Station) -> None:
    if not station.active:
        raise StationStopped(station)


def state(station: Station) -> dict:
    return {
        "id": station.pk,
        "active": station.active,
        "state": "running" if station.active else "stopped",
        "changed_by": station.state_changed_by.username if station.state_changed_by else None,
        "changed_at": station.state_changed_at,
    }
