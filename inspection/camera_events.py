"""Camera offline/online transitions of a running station, told to webhooks once per change."""

from __future__ import annotations

import logging

from django.db import close_old_connections

from defect_platform.core import webhooks
from inspection.models import Station

log = logging.getLogger(__name__)


class CameraWatch:
    """Remembers each camera's last status; reports changes (the first sighting of an online
    camera is not a change, a camera offline from the start is)."""

    def __init__(self, station_id: int):
        self.station_id = station_id
        self.status: dict[str, str] = {}

    def changes(self, views) -> list[tuple[str, str, str]]:
        found = []
        for view in views:
            before = self.status.get(view.camera, "online")
            if view.status != before:
                found.append((view.camera, view.status, view.error))
            self.status[view.camera] = view.status
        return found

    def tell_from_thread(self, changes: list[tuple[str, str, str]]) -> None:
        """`tell`, from the runner's worker thread: fresh connection, and a database hiccup
        is logged, never raised into the station's capture loop."""
        close_old_connections()
        try:
            self.tell(changes)
        except Exception:
            log.exception("station %s: camera events not recorded", self.station_id)

    def tell(self, changes: list[tuple[str, str, str]]) -> None:
        station = Station.objects.filter(pk=self.station_id).first()
        if station is None:
            return
        projects = list(station.projects.values_list("pk", flat=True))
        for camera, status, error in changes:
            webhooks.emit(
                projects,
                f"camera.{status}",
                {
                    "station": station.pk,
                    "station_name": station.name,
                    "camera": camera,
                    "status": status,
                    "error": error,
                },
            )
