from __future__ import annotations

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
        await self.channel_layer.group_add(project_group(self.project_id), self.channel_name)
        relay.ensure_running()
        await self.send_json({"type": "hello", "project": self.project_id})

    async def disconnect(self, code):
        if hasattr(self, "project_id"):
            await self.channel_layer.group_discard(
                project_group(self.project_id), self.channel_name
            )

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
