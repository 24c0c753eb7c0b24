"""Relays events that other processes wrote to the database onto this process's channel layer.

Only needed with the in-memory layer (embedded mode), where a worker's push cannot cross
processes. One relay task runs per web process, started by the first consumer that needs it.
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from defect_platform.core.events import event_message, project_group
from defect_platform.core.models import ProjectEvent

log = logging.getLogger(__name__)
_task: asyncio.Task | None = None
_loop: asyncio.AbstractEventLoop | None = None


def needed() -> bool:
    return isinstance(get_channel_layer(), InMemoryChannelLayer)


@database_sync_to_async
def _last_id() -> int:
    return ProjectEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@database_sync_to_async
def _events_after(cursor: int) -> list[dict]:
    rows = ProjectEvent.objects.filter(id__gt=cursor).order_by("id")[:500]
    return [event_message(e) for e in rows]


async def _run() -> None:
    layer = get_channel_layer()
    cursor = await _last_id()
    while True:
        await asyncio.sleep(settings.EVENT_RELAY_INTERVAL_S)
        try:
            for message in await _events_after(cursor):
                await layer.group_send(project_group(message["project"]), message)
                cursor = message["id"]
        except Exception:
            log.warning("event relay failed; retrying", exc_info=True)


def ensure_running() -> None:
    global _task, _loop
    if not needed():
        return
    loop = asyncio.get_running_loop()
    if _task is None or _task.done() or _loop is not loop:
        _loop = loop
        _task = loop.create_task(_run(), name="event-relay")
