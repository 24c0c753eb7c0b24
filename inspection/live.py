"""Station runners: capture frames from a station's cameras and publish them to its group.

In the embedded mode a runner lives in the web process while someone watches; in the
scaled-out mode `manage.py run_station` runs it next to the cameras and the Redis channel
layer carries the frames to every web process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import DatabaseError

from inspection.camera_events import CameraWatch
from inspection.capture import Capture, View

log = logging.getLogger(__name__)
FRAME_SIZE = (256, 1248)
JPEG_QUALITY = 80
IDLE_GRACE_S = 5.0
_render_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="camera")
# One judging thread per process: inference runtimes bring their own thread pools.
_judge_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judge")
JUDGE_RETRY_S = 5.0
CONTROL_EVERY_S = 1.0


def station_group(station_id: int) -> str:
    return f"station-{station_id}"


def pack_frame(header: dict, jpeg: bytes) -> bytes:
    """Binary websocket frame: 4-byte big-endian header length, JSON header, JPEG bytes."""
    raw = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack(">I", len(raw)) + raw + jpeg


def unpack_frame(data: bytes) -> tuple[dict, bytes]:
    (length,) = struct.unpack(">I", data[:4])
    return json.loads(data[4 : 4 + length]), data[4 + length :]


def _encode(image: np.ndarray) -> bytes:
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return jpeg.tobytes() if ok else b""


def _take(capture: Capture) -> list[tuple[View, bytes]]:
    return [(v, _encode(v.image) if v.image is not None else b"") for v in capture.take()]


@dataclass(frozen=True)
class Wanted:
    """What the station's row asks of its runner right now."""

    active: bool
    cameras: list[dict]
    fps: float


class StationControl:
    """Reads the station's row at most once per CONTROL_EVERY_S: start/stop and camera edits
    reach a running runner within about a second, in this process or in `run_station`."""

    def __init__(self, station_id: int):
        self.station_id = station_id
        self.read_at = -CONTROL_EVERY_S
        self.wanted: Wanted | None = None

    async def read(self) -> Wanted | None:
        if time.monotonic() - self.read_at >= CONTROL_EVERY_S:
            try:
                self.wanted = await database_sync_to_async(self._load)()
                self.read_at = time.monotonic()
            except DatabaseError as exc:
                # A database blip keeps the line as it is; the next read tries again.
                log.warning("station %s: cannot read its settings: %s", self.station_id, exc)
                if self.wanted is None:
                    raise
        return self.wanted

    def _load(self) -> Wanted | None:
        from inspection.models import Station

        row = Station.objects.filter(pk=self.station_id).values("active", "cameras", "fps").first()
        return Wanted(**row) if row else None


class StationRunner:
    def __init__(self, station_id: int, judge: bool = True):
        self.station_id = station_id
        self.period = 1.0
        self.layer = get_channel_layer()
        self.judging = judge
        # The newest capture not yet judged; the judge replaces, never queues.
        self.latest: tuple[int, list[View]] | None = None
        self.fresh = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        capture, opened_with = None, None
        seq = 0
        lost_since = None
        next_at = time.monotonic()
        judge = loop.create_task(self._judge_forever()) if self.judging else None
        cameras = CameraWatch(self.station_id)
        control = StationControl(self.station_id)
        try:
            while True:
                wanted = await control.read()
                if wanted is None:
                    return  # the station was deleted
                if not wanted.active:
                    if capture is not None:
                        await loop.run_in_executor(_render_pool, capture.close)
                        capture, opened_with = None, None
                        log.info("station %s: stopped", self.station_id)
                    self.latest = None
                    await self._publish_state("stopped")
                    await asyncio.sleep(CONTROL_EVERY_S)
                    next_at = time.monotonic()
                    continue
                if capture is None or opened_with != wanted.cameras:
                    # Started, or the cameras were edited: open what the station holds now.
                    if capture is not None:
                        await loop.run_in_executor(_render_pool, capture.close)
                    capture = await loop.run_in_executor(
                        _render_pool, Capture, wanted.cameras, self.station_id, FRAME_SIZE
                    )
                    opened_with = wanted.cameras
                    await self._publish_state("running")
                self.period = 1.0 / max(0.1, min(wanted.fps, 30.0))
                seq += 1
                views = await loop.run_in_executor(_render_pool, _take, capture)
                self.latest = (seq, [view for view, _ in views])
                self.fresh.set()
                changes = cameras.changes(self.latest[1])
                if changes:
                    loop.run_in_executor(_judge_pool, cameras.tell_from_thread, changes)
                try:
                    await self._publish(seq, views)
                    if lost_since is not None:
                        log.info("station %s: channel layer back", self.station_id)
                        lost_since = None
                except Exception as exc:  # noqa: BLE001 - Redis down, restarting, timing out
                    # Keep capturing and try again next frame: the layer's client reconnects
                    # by itself once Redis is back, and no one should have to restart us.
                    if lost_since is None:
                        lost_since = time.monotonic()
                        log.warning("station %s: cannot publish frames: %s", self.station_id, exc)
                    await asyncio.sleep(0.5)
                next_at = max(next_at + self.period, time.monotonic())
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        finally:
            if judge:
                judge.cancel()
            if capture is not None:
                capture.close()

    async def _publish_state(self, state: str) -> None:
        # Pages learn that the station was stopped on purpose, not that it went offline.
        with contextlib.suppress(Exception):  # the frame loop reports a layer that is down
            await self.layer.group_send(
                station_group(self.station_id), {"type": "station.state", "state": state}
            )

    async def _judge_forever(self) -> None:
        from inspection.live_judging import LiveJudge

        loop = asyncio.get_running_loop()
        judge = LiveJudge(self.station_id)
        while True:
            await self.fresh.wait()
            self.fresh.clear()
            if self.latest is None:
                continue  # stopped since
            seq, views = self.latest
            try:
                message = await loop.run_in_executor(_judge_pool, judge.judge, seq, views)
            except Exception as exc:  # noqa: BLE001 - a model or database failure
                # The line keeps streaming; the page shows why verdicts stopped, and the
                # judge tries again after a pause.
                log.exception("station %s: judging failed", self.station_id)
                message = {"seq": seq, "judging": "error", "reason": str(exc)[:300]}
                await asyncio.sleep(JUDGE_RETRY_S)
            # When the layer is down the frame loop reports it; a verdict is simply not shown.
            with contextlib.suppress(Exception):
                await self.layer.group_send(
                    station_group(self.station_id), {"type": "station.verdict", **message}
                )
            if message.get("judging") == "off":
                await asyncio.sleep(JUDGE_RETRY_S)  # nothing to judge with: look again later

    async def _publish(self, seq: int, views) -> None:
        for view, jpeg in views:
            await self.layer.group_send(
                station_group(self.station_id),
                {
                    "type": "station.frame",
                    "camera": view.camera,
                    "index": view.index,
                    "seq": seq,
                    "ts": view.captured_at or time.time(),
                    "status": view.status,
                    "error": view.error,
                    "jpeg": jpeg,
                },
            )


class _Running:
    def __init__(self, task: asyncio.Task):
        self.task = task
        self.watchers = 0
        self.stop_handle: asyncio.TimerHandle | None = None


_running: dict[int, _Running] = {}


def watch(station) -> None:
    """A client started watching: make sure this process runs the station."""
    entry = _running.get(station.pk)
    if entry is None or entry.task.done():
        runner = StationRunner(station.pk)
        task = asyncio.get_running_loop().create_task(runner.run(), name=f"station-{station.pk}")
        entry = _running[station.pk] = _Running(task)
    if entry.stop_handle:
        entry.stop_handle.cancel()
        entry.stop_handle = None
    entry.watchers += 1


def unwatch(station_id: int) -> None:
    """A client left; stop the runner a little after the last one goes."""
    entry = _running.get(station_id)
    if entry is None:
        return
    entry.watchers = max(0, entry.watchers - 1)
    if entry.watchers == 0:
        entry.stop_handle = asyncio.get_running_loop().call_later(IDLE_GRACE_S, _stop, station_id)


def _stop(station_id: int) -> None:
    entry = _running.get(station_id)
    if entry and entry.watchers == 0:
        entry.task.cancel()
        _running.pop(station_id, None)


async def run_forever(station) -> None:
    runner = StationRunner(station.pk)
    with contextlib.suppress(asyncio.CancelledError):
        await runner.run()
