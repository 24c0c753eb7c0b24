from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from defect_platform.core.consumers import GroupMembership, authorise
from inspection import live, verdicts
from inspection.access import get_station_for_user, visible_project_ids


class StationLiveConsumer(AsyncWebsocketConsumer):
    """Streams a station's camera frames as binary messages (see live.pack_frame).

    A client that connects with `?ack=1` sends `{"ack": n}` after showing n frames; the
    server then keeps at most `WINDOW` frames in flight to it and, while the window is full,
    holds only the newest frame per camera (latest frame wins). A slow browser sees the line
    as it is now instead of a growing backlog; the header's `dropped` counts what it skipped.
    """

    WINDOW = 2  # frames per camera in flight
    # No frame for this long (several capture periods) and the station counts as offline:
    # its worker died or its host is cut off. Sent as {"type": "station", "status": ...}.
    OFFLINE_AFTER_S = 3.0

    station = None
    flow = False
    in_flight = 0
    window = WINDOW
    dropped = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pending: dict[int, dict] = {}
        self.last_frame = time.monotonic()
        # None until the first frame, then True, False (no frames: offline) or "stopped".
        self.online: bool | str | None = None
        self.watchdog: asyncio.Task | None = None

    async def connect(self):
        await self.accept()
        self.station = await authorise(
            self, get_station_for_user, self.scope["url_route"]["kwargs"]["pk"]
        )
        if self.station is None:
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.flow = query.get("ack", ["0"])[0] == "1"
        self.visible = await database_sync_to_async(visible_project_ids)(self.scope["user"])
        self.window = self.WINDOW * max(1, len(self.station.cameras))
        self.membership = GroupMembership(
            self.channel_layer, live.station_group(self.station.pk), self.channel_name
        )
        # Viewers only join the group: the station runs whether watched or not (live.py).
        await self.membership.join()
        if not self.station.active:
            self.online = "stopped"
            await self._say("stopped")
        self.watchdog = asyncio.get_running_loop().create_task(self._watch_station())

    async def _watch_station(self):
        while True:
            await asyncio.sleep(0.5)
            if (
                self.online not in (False, "stopped")
                and time.monotonic() - self.last_frame > self.OFFLINE_AFTER_S
            ):
                self.online = False
                await self._say("offline")

    async def _say(self, status: str) -> None:
        await self.send(text_data=json.dumps({"type": "station", "status": status}))

    async def station_state(self, message):
        """The runner closed the cameras on purpose (stopped) or opened them (running)."""
        if message["state"] == "stopped" and self.online != "stopped":
            self.online = "stopped"
            await self._say("stopped")
        elif message["state"] == "running" and self.online == "stopped":
            self.online = None  # online again with the next frame
            self.last_frame = time.monotonic()

    async def disconnect(self, code):
        if self.station is None:
            return
        if self.watchdog:
            self.watchdog.cancel()
        await self.membership.leave()

    async def receive(self, text_data=None, bytes_data=None):
        if not (self.flow and text_data):
            return
        try:
            acked = int(json.loads(text_data).get("ack", 0))
        except (ValueError, TypeError, AttributeError):
            return
        self.in_flight = max(0, self.in_flight - max(0, acked))
        # Oldest capture first, so cameras stay in step.
        for index, message in sorted(self.pending.items(), key=lambda kv: kv[1]["seq"]):
            if self.in_flight >= self.window:
                break
            del self.pending[index]
            await self._send_frame(message)

    async def station_frame(self, message):
        self.last_frame = time.monotonic()
        if self.online is not True:
            self.online = True
            await self._say("online")
        if self.flow and self.in_flight >= self.window:
            if message["index"] in self.pending:
                self.dropped += 1
            self.pending[message["index"]] = message
            return
        await self._send_frame(message)

    async def station_verdict(self, message):
        """A judged capture (or why captures are not judged): small JSON, always sent, so a
        slow client skips frames but never verdicts."""
        body = {k: v for k, v in message.items() if k != "type"}
        if body.get("verdict"):
            # Defect details only for the projects this viewer belongs to.
            body["verdict"] = verdicts.visible_to(body["verdict"], self.visible)
        await self.send(text_data=json.dumps({"type": "verdict", **body}))

    async def _send_frame(self, message):
        header = {k: message[k] for k in ("camera", "index", "seq", "ts")}
        header["status"] = message.get("status", "online")
        if message.get("error"):
            header["error"] = message["error"]
        header["dropped"] = self.dropped
        self.in_flight += 1
        await self.send(bytes_data=live.pack_frame(header, message["jpeg"]))
