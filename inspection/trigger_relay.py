"""Triggers go to the runner that holds the station's cameras.

A station's cameras are open in one place: its runner, in the web process (embedded mode) or in
`manage.py run_station` next to the cameras (scaled out). A USB camera cannot be opened twice,
and a web server may not reach the line's network at all, so a trigger is a message on the
station's trigger channel: the runner takes its cameras' newest frames, judges them for the
caller's projects, stores the record and answers with its id. The channel is a plain one, not
a group, so exactly one runner receives each trigger. A request carries its deadline (wall
clock: the web and station machines keep time by NTP): a runner that starts later never
captures for a caller who has given up. A caller that retries after a 503 should send an
idempotency key: a trigger answered just too late has still been stored.

Where no runner can be listening (embedded mode under a server that started none: WSGI, tests,
a shell), the caller captures itself (triggering.trigger_here).
"""

from __future__ import annotations

import asyncio
import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

log = logging.getLogger(__name__)
RECEIVE_RETRY_S = 1.0


class StationUnreachable(Exception):
    """No runner answered the trigger in time: the station worker is not running or is stuck."""


class TriggerFailed(Exception):
    """The runner took the trigger but could not judge it; the message says why."""


def channel_name(station_id: int) -> str:
    return f"station-trigger.{station_id}"


def answer_wait_s() -> float:
    return float(settings.TRIGGER_ANSWER_S)


def ask(station, user, project_ids, serial, lot, idempotency_key) -> dict:
    """The runner's answer: {"record": id} or {"error": code, "message": why}."""
    return async_to_sync(_ask)(station, user.pk, project_ids, serial, lot, idempotency_key)


async def _ask(station, user_id, project_ids, serial, lot, idempotency_key) -> dict:
    layer = get_channel_layer()
    wait_s = answer_wait_s()
    reply = await layer.new_channel()
    try:
        await layer.send(
            channel_name(station.pk),
            {
                "type": "station.trigger",
                "reply": reply,
                "deadline": time.time() + wait_s,
                "user": user_id,
                "projects": list(project_ids),
                "serial": serial,
                "lot": lot,
                "idempotency_key": idempotency_key,
            },
        )
    except Exception as exc:  # noqa: BLE001 - the layer full or Redis away
        raise StationUnreachable(
            f"Station {station.name!r} cannot be reached: {type(exc).__name__}: {exc}"
        ) from None
    try:
        return await asyncio.wait_for(layer.receive(reply), wait_s)
    except TimeoutError:
        where = (
            "the web process runs it"
            if settings.STATIONS_IN_WEB
            else f"is `manage.py run_station {station.pk}` running?"
        )
        raise StationUnreachable(
            f"Station {station.name!r} did not answer the trigger within {wait_s:.0f} s ({where})."
        ) from None


async def serve(runner) -> None:
    """A runner's loop over its trigger channel, for as long as the runner runs."""
    layer = get_channel_layer()
    name = channel_name(runner.station_id)
    while True:
        try:
            message = await layer.receive(name)
        except Exception as exc:  # noqa: BLE001 - Redis away: listen again once it is back
            log.warning("station %s: cannot receive triggers: %s", runner.station_id, exc)
            await asyncio.sleep(RECEIVE_RETRY_S)
            continue
        if message.get("deadline", 0) < time.time():
            log.info("station %s: dropped a trigger its caller gave up on", runner.station_id)
            continue
        answering = asyncio.ensure_future(_answer(runner, message))
        try:
            await asyncio.shield(answering)
        except asyncio.CancelledError:
            # The runner is ending: the trigger in hand is judged, stored and answered first.
            await asyncio.gather(answering, return_exceptions=True)
            raise


async def _answer(runner, message: dict) -> None:
    try:
        answer = await runner.answer_trigger(message)
    except Exception as exc:  # noqa: BLE001 - the caller must hear why, not time out
        log.exception("station %s: trigger failed", runner.station_id)
        answer = {"error": "trigger_failed", "message": f"{type(exc).__name__}: {exc}"[:300]}
    try:
        await get_channel_layer().send(message["reply"], answer)
    except Exception as exc:  # noqa: BLE001 - the layer down: the caller times out
        log.warning("station %s: cannot answer a trigger: %s", runner.station_id, exc)
