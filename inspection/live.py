"""Station runners: capture frames from a station's cameras and publish them to its group.

In the embedded mode the web process runs one for every active station, watched or not
(station_host.py); in the scaled-out mode `manage.py run_station` runs it next to the cameras
and the Redis channel layer carries the frames to every web process. Viewers only join the
station's group.
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

from inspection import trigger_relay
from inspection.camera_events import CameraWatch
from inspection.cameras import CameraError
from inspection.capture import Capture, View, describe

log = logging.getLogger(__name__)
FRAME_SIZE = (256, 1248)
JPEG_QUALITY = 80
_render_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="camera")
# One judging thread per process: inference runtimes bring their own thread pools.
_judge_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judge")
JUDGE_RETRY_S = 5.0
CONTROL_EVERY_S = 1.0
# Opening or reading the cameras failed: the pause before the next try doubles up to this.
MAX_RETRY_S = 10.0


OPENING = "the cameras are being opened"
STOPPED = "the station is stopped"


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


def _offline(cameras: list, reason: str) -> list[tuple[View, bytes]]:
    """Every camera of the station offline for `reason`, as the page and webhooks show it."""
    views = []
    for i, config in enumerate(cameras):
        name = config.get("name") if isinstance(config, dict) else None
        views.append((View(str(name or f"cam{i + 1}"), i, None, None, "offline", reason), b""))
    return views


def retry_delay(failures: int) -> float:
    return min(MAX_RETRY_S, 0.5 * 2 ** max(0, failures - 1))


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
    """Captures a station at its rate while its row says active. `until_stopped`: return when
    the station is stopped (the embedded host starts a new one when it is started again);
    otherwise wait for the start, as `run_station` does. `make_capture` opens the cameras."""

    def __init__(
        self,
        station_id: int,
        judge: bool = True,
        until_stopped: bool = False,
        make_capture=Capture,
    ):
        self.station_id = station_id
        self.period = 1.0
        self.layer = get_channel_layer()
        self.judging = judge
        self.until_stopped = until_stopped
        self.make_capture = make_capture
        # The newest capture not yet judged; the judge replaces, never queues.
        self.latest: tuple[int, list[View]] | None = None
        self.fresh = asyncio.Event()
        self.cameras = CameraWatch(station_id)
        self.lost_since: float | None = None
        # The open cameras, shared with triggers; the lock keeps their takes, opens and
        # closes one at a time. `unusable` says why there is no capture while running.
        self.capture: Capture | None = None
        self.capture_lock = asyncio.Lock()
        self.unusable = OPENING

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        opened_with = None
        seq = failures = 0
        next_at = time.monotonic()
        judge = loop.create_task(self._judge_forever()) if self.judging else None
        triggers = loop.create_task(trigger_relay.serve(self))
        control = StationControl(self.station_id)
        try:
            while True:
                wanted = await control.read()
                if wanted is None:
                    return  # the station was deleted
                if not wanted.active:
                    if self.capture is not None:
                        await self._close()
                        opened_with = None
                        log.info("station %s: stopped", self.station_id)
                    self.latest = None
                    self.unusable = STOPPED
                    await self._publish_state("stopped")
                    if self.until_stopped:
                        return
                    await asyncio.sleep(CONTROL_EVERY_S)
                    next_at = time.monotonic()
                    continue
                self.period = 1.0 / max(0.1, min(wanted.fps, 30.0))
                seq += 1
                try:
                    if self.capture is None or opened_with != wanted.cameras:
                        # Started, or the cameras were edited: open what the station holds now.
                        if self.capture is not None:
                            await self._close(OPENING)
                            opened_with = None
                        await self._open(wanted.cameras)
                        opened_with = wanted.cameras
                        await self._publish_state("running")
                    async with self.capture_lock:
                        views = await loop.run_in_executor(_render_pool, _take, self.capture)
                    failures = 0
                except Exception as exc:  # noqa: BLE001 - a bad config, a driver's cv2.error
                    # One failure must not end the station: every camera shows why, and the
                    # cameras are opened anew after a pause that grows while it keeps failing.
                    failures += 1
                    delay = retry_delay(failures)
                    reason = describe(exc)
                    log.warning(
                        "station %s: capture failed (%s); opening the cameras again in %.1f s",
                        self.station_id,
                        reason,
                        delay,
                        exc_info=not isinstance(exc, CameraError),
                    )
                    if self.capture is not None:
                        with contextlib.suppress(Exception):
                            await self._close(reason)
                        opened_with = None
                    self.unusable = reason
                    await self._deliver(seq, _offline(wanted.cameras, f"capture failed: {reason}"))
                    await asyncio.sleep(delay)
                    next_at = time.monotonic()
                    continue
                self.latest = (seq, [view for view, _ in views])
                self.fresh.set()
                await self._deliver(seq, views)
                next_at = max(next_at + self.period, time.monotonic())
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        finally:
            # A trigger being judged finishes and is answered before the runner is gone.
            triggers.cancel()
            await asyncio.gather(triggers, return_exceptions=True)
            if judge:
                judge.cancel()
            if self.capture is not None:
                self.capture.close()
                self.capture = None

    async def _open(self, cameras: list) -> None:
        loop = asyncio.get_running_loop()
        self.unusable = OPENING
        async with self.capture_lock:
            self.capture = await loop.run_in_executor(
                _render_pool, self.make_capture, cameras, self.station_id, FRAME_SIZE
            )

    async def _close(self, why: str = STOPPED) -> None:
        loop = asyncio.get_running_loop()
        async with self.capture_lock:
            capture, self.capture = self.capture, None
            self.unusable = why
            if capture is not None:
                await loop.run_in_executor(_render_pool, capture.close)

    async def answer_trigger(self, message: dict) -> dict:
        """One relayed trigger: the cameras' newest frames, judged for the caller's projects
        and stored (see trigger_relay.py)."""
        from inspection import triggering

        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        # Just started or re-cabled: the cameras open within moments. The caller found the
        # station active, so "stopped" may only mean this runner has not read that yet.
        while self.capture is None and self.unusable in (OPENING, STOPPED):
            if time.time() > message["deadline"] - 1.0:
                break
            await asyncio.sleep(0.05)
        async with self.capture_lock:
            if self.capture is None:
                code = "station_stopped" if self.unusable == STOPPED else "cameras_unusable"
                return {"error": code, "message": f"Station {self.station_id}: {self.unusable}"}
            views = await loop.run_in_executor(_render_pool, self.capture.take)
        if time.time() > message["deadline"]:
            # Judging now would store a record for a caller who has had its 503.
            return {"error": "too_late", "message": "the trigger waited past its deadline"}
        return await loop.run_in_executor(
            _judge_pool, triggering.judge_for_runner, message, self.station_id, views, started
        )

    async def _deliver(self, seq: int, views: list[tuple[View, bytes]]) -> None:
        """Tell webhooks of cameras that went offline or came back, and publish the frames."""
        loop = asyncio.get_running_loop()
        changes = self.cameras.changes([view for view, _ in views])
        if changes:
            loop.run_in_executor(_judge_pool, self.cameras.tell_from_thread, changes)
        try:
            await self._publish(seq, views)
            if self.lost_since is not None:
                log.info("station %s: channel layer back", self.station_id)
                self.lost_since = None
        except Exception as exc:  # noqa: BLE001 - Redis down, restarting, timing out
            # Keep capturing and try again next frame: the layer's client reconnects
            # by itself once Redis is back, and no one should have to restart us.
            if self.lost_since is None:
                self.lost_since = time.monotonic()
                log.warning("station %s: cannot publish frames: %s", self.station_id, exc)
            await asyncio.sleep(0.5)

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
            judging = loop.run_in_executor(_judge_pool, judge.judge, seq, views)
            try:
                message = await asyncio.shield(judging)
            except asyncio.CancelledError:
                # The runner is ending: the capture being judged is stored before this task
                # ends, so nothing writes to the database once the runner is gone.
                with contextlib.suppress(Exception):
                    await judging
                raise
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


async def run_forever(station) -> None:
    """`run_station`: the station's runner, started again after a failure it did not handle
    itself (its database gone at the first read, say), so the process never just ends."""
    failures = 0
    while True:
        started = time.monotonic()
        try:
            await StationRunner(station.pk).run()
            return  # the station was deleted
        except asyncio.CancelledError:
            return
        except Exception:
            log.exception("station %s: runner failed; starting it again", station.pk)
        failures = 1 if time.monotonic() - started > 60 else failures + 1
        await asyncio.sleep(retry_delay(failures))
