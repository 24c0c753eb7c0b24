from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from defect_platform.core.consumers import authorise
from inspection import live
from inspection.access import get_station_for_user


class StationLiveConsumer(AsyncWebsocketConsumer):
    """Streams a station's camera frames as binary messages (see live.pack_frame)."""

    station = None

    async def connect(self):
        await self.accept()
        self.station = await authorise(
            self, get_station_for_user, self.scope["url_route"]["kwargs"]["pk"]
        )
        if self.station is None:
            return
        await self.channel_layer.group_add(live.station_group(self.station.pk), self.channel_name)
        if settings.STATIONS_IN_WEB:
            live.watch(self.station)

    async def disconnect(self, code):
        if self.station is None:
            return
        await self.channel_layer.group_discard(
            live.station_group(self.station.pk), self.channel_name
        )
        if settings.STATIONS_IN_WEB:
            live.unwatch(self.station.pk)

    async def station_frame(self, message):
        header = {k: message[k] for k in ("camera", "index", "seq", "ts")}
        await self.send(bytes_data=live.pack_frame(header, message["jpeg"]))
