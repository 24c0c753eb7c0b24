"""Project events: written to the database, then pushed to the project's websocket group.

With the Redis channel layer the push reaches every web process at once. With the in-memory
layer a push from a worker process reaches no one, so the web process relays new rows from the
database (see relay.py); consumers drop the duplicates by event id.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from defect_platform.core.models import ProjectEvent

log = logging.getLogger(__name__)


def project_group(project_id: int) -> str:
    return f"project-{project_id}"


def event_message(event: ProjectEvent) -> dict:
    return {
        "type": "project.event",
        "id": event.pk,
        "kind": event.kind,
        "project": event.project_id,
        "payload": event.payload,
        "created_at": event.created_at.isoformat(),
    }


def push(event: ProjectEvent) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(project_group(event.project_id), event_message(event))
    except Exception:  # the row is durable; a failed push is relayed or replayed later
        log.warning("could not push event %s to the channel layer", event.pk, exc_info=True)


def notify(project_id: int, kind: str, payload: dict | None = None) -> ProjectEvent:
    """Record an event for the project's members and push it once the transaction commits."""
    event = ProjectEvent.objects.create(project_id=project_id, kind=kind, payload=payload or {})
    transaction.on_commit(lambda: push(event))
    return event
