from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied
from django.http import Http404

from defect_platform.core import relay
from defect_platform.core.access import get_project_for_user
from defect_platform.core.events import event_message, project_group
from defect_platform.core.models import ProjectEvent

# Close codes: the 4000 range is free for applications; 4401/4403/4404 mirror HTTP.
CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND = 4401, 4403, 4404
log = logging.getLogger(__name__)


REJOIN_S = 5.0


class GroupMembership:
    """Keeps a consumer in its group: the membership lives in the channel layer, and a Redis
    restart forgets it while the websocket stays open. Re-joining every few seconds (an
    idempotent, cheap call) lets an open page resume by itself."""

    def __init__(self, layer, group: str, channel: str):
        self.layer, self.group, self.channel = layer, group, channel
        self.task: asyncio.Task | None = None

    async def join(self) -> None:
        await self.layer.group_add(self.group, self.channel)
        self.task = asyncio.get_running_loop().create_task(self._keep())

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(REJOIN_S)
            try:
                await self.layer.group_add(self.group, self.channel)
            except Exception as exc:  # noqa: BLE001 - the layer is down; try again later
                log.debug("re-joining %s failed: %s", self.group, exc)

    async def leave(self) -> None:
        if self.task:
            self.task.cancel()
        with contextlib.suppress(Exception):
            await self.layer.group_discard(self.group, self.channel)


async def authorise(consumer, lookup, *args) -> object | None:
    """Run a scoped lookup for the connecting user; close the socket with a code on failure."""
    user = consumer.scope.get("user")
    if user is None or not user.is_authenticated:
        await consumer.close(code=CLOSE_UNAUTHENTICATED)
        return None
    try:
        return await database_sync_to_async(lookup)(user, *args)
    except Http404:
        await consumer.close(code=CLOSE_NOT_FOUND)
    except PermissionDenied:
        await consumer.close(code=CLOSE_FORBIDDEN)
    return None


class ProjectEventsConsumer(AsyncJsonWebsocketConsumer):
    """Pushes a project's events (job progress, uploads) to its members.

    A client may send {"since": <event id>} to replay what it missed while disconnected.
    """

    async def connect(self):
        await self.accept()
        project = await authorise(
            self, get_project_for_user, self.scope["url_route"]["kwargs"]["pk"]
        )
        if project is None:
            return
        self.project_id = project.pk
        self.seen: deque[int] = deque(maxlen=1000)
        self.membership = GroupMembership(
            self.channel_layer, project_group(self.project_id), self.channel_name
        )
        await self.membership.join()
        relay.ensure_running()
        await self.send_json({"type": "hello", "project": self.project_id})

    async def disconnect(self, code):
        if hasattr(self, "membership"):
            await self.membership.leave()

    async def receive_json(self, content, **kwargs):
        since = content.get("since") if isinstance(content, dict) else None
        if isinstance(since, int) and not isinstance(since, bool) and since >= 0:
            for message in await self._replay(since):
                await self.project_event(message)
        else:
            await self.send_json({"type": "error", "detail": 'Send {"since": <event id>}.'})

    @database_sync_to_async
    def _replay(self, since: int) -> list[dict]:
        rows = ProjectEvent.objects.filter(project_id=self.project_id, id__gt=since)[:1000]
        return [event_message(e) for e in rows]

    async def project_event(self, message):
        if message["id"] in self.seen:
            return
        self.seen.append(message["id"])
        await self.send_json({k: v for k, v in message.items() if k != "type"} | {"type": "event"})
