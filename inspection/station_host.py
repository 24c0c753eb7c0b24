"""Embedded mode: the web process runs every active station, whether anyone watches or not.

The host starts with the ASGI application's first event: the lifespan startup where the
server sends one, otherwise the first request (Daphne sends no lifespan events; the deploy
scripts' health probe makes that request as soon as the server listens). Nothing starts under
`manage.py migrate` or other commands, which never call the application. About once a second,
and at once when a station is started in this process, the host starts a runner for each
active station that has none; a runner returns by itself when its station is stopped or
deleted, and one that failed is started again at the next look.

With STATIONS_IN_WEB=0 (scaled out) the host never starts: `manage.py run_station` runs each
station next to its cameras.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async
from django.conf import settings

from inspection import live

log = logging.getLogger(__name__)
LOOK_EVERY_S = 1.0


def _active_ids() -> set[int]:
    from inspection.models import Station

    return set(Station.objects.filter(active=True).values_list("pk", flat=True))


class StationHost:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.runners: dict[int, asyncio.Task] = {}
        self.poke = asyncio.Event()
        self.task = loop.create_task(self._run(), name="station-host")

    async def _run(self) -> None:
        try:
            while True:
                try:
                    self._follow(await database_sync_to_async(_active_ids)())
                except Exception as exc:  # noqa: BLE001 - the database away for a moment
                    log.warning("stations: cannot list the active ones: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.poke.wait(), LOOK_EVERY_S)
                self.poke.clear()
        finally:
            for task in self.runners.values():
                task.cancel()

    def _follow(self, active: set[int]) -> None:
        for pk, task in list(self.runners.items()):
            if not task.done():
                continue
            del self.runners[pk]
            if not task.cancelled() and task.exception() is not None:
                log.error("station %s: runner failed", pk, exc_info=task.exception())
        for pk in sorted(active - set(self.runners)):
            runner = live.StationRunner(pk, until_stopped=True)
            self.runners[pk] = self.loop.create_task(runner.run(), name=f"station-{pk}")
            log.info("station %s: running in this process", pk)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await asyncio.gather(*self.runners.values(), return_exceptions=True)


_host: StationHost | None = None


def ensure_running() -> None:
    """Start this process's host on the running loop, once (again on a new loop)."""
    global _host
    if not settings.STATIONS_IN_WEB:
        return
    loop = asyncio.get_running_loop()
    if _host is None or _host.loop is not loop or _host.task.done():
        _host = StationHost(loop)


def wake() -> None:
    """A station was started: look now rather than within a second. Any thread may call it;
    without a host in this process (a worker, run_station, tests) it does nothing."""
    host = _host
    if host is None or host.loop.is_closed():
        return
    with contextlib.suppress(RuntimeError):  # the loop closed in between
        host.loop.call_soon_threadsafe(host.poke.set)


def running() -> bool:
    """Whether this process runs the embedded stations (so its runners hold their cameras)."""
    host = _host
    return host is not None and not host.loop.is_closed() and not host.task.done()


async def stop() -> None:
    global _host
    if _host is not None and _host.loop is asyncio.get_running_loop():
        await _host.stop()
        _host = None


class WithStations:
    """The ASGI application, starting the embedded stations with its first event."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        ensure_running()
        await self.app(scope, receive, send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                ensure_running()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await stop()
                await send({"type": "lifespan.shutdown.complete"})
                return
