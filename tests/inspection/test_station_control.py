"""Starting, stopping and re-cabling a station while it streams (real ASGI app, in-memory
channel layer): the runner follows the station's row within about a second."""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from defect_platform.asgi import application
from defect_platform.core.models import Membership
from defect_platform.core.roles import Role
from inspection import camera_setup, station_state, triggering
from inspection.live import unpack_frame
from inspection.models import Station

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = [(b"origin", b"http://localhost")]


def _token(user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=user)[0].key


async def _next(client, timeout: float):
    """The next message: ("frame", header) or ("status", text)."""
    message = await client.receive_output(timeout=timeout)
    assert message["type"] == "websocket.send", message
    if message.get("bytes") is not None:
        return "frame", unpack_frame(message["bytes"])[0]
    return "status", message["text"]


async def _wait_for(client, wanted, timeout: float = 8.0):
    """Messages until one matches `wanted(kind, body)`; returns everything read. (A timeout
    here ends the application: asgiref cancels it, so quiet spells use receive_nothing.)"""
    seen, deadline = [], time.monotonic() + timeout
    while True:
        kind, body = await _next(client, max(0.1, deadline - time.monotonic()))
        seen.append((kind, body))
        if wanted(kind, body):
            return seen


def test_stop_closes_the_cameras_start_reopens_them_and_edits_apply_live(inspector, project):
    station = Station.objects.create(name="Line", fps=8.0)
    station.projects.set([project])
    token = _token(inspector)

    async def scenario():
        client = WebsocketCommunicator(
            application, f"/ws/stations/{station.pk}/live/?token={token}", headers=ORIGIN
        )
        assert (await client.connect())[0]
        await _wait_for(client, lambda kind, _: kind == "frame")

        await sync_to_async(station_state.set_active)(station, inspector, False)
        await _wait_for(client, lambda kind, body: kind == "status" and "stopped" in body)
        # Frames already on their way may still land; after that the line is quiet.
        await asyncio.sleep(0.5)
        while not await client.receive_nothing(timeout=0.05):
            await client.receive_output()
        assert await client.receive_nothing(timeout=2.0)

        await sync_to_async(station_state.set_active)(station, inspector, True)
        await _wait_for(client, lambda kind, _: kind == "frame")

        cameras = [{"name": n, "kind": "synthetic"} for n in ("left", "middle", "right")]
        await sync_to_async(camera_setup.save_cameras)(station, cameras)
        names = set()
        await _wait_for(
            client,
            lambda kind, body: (
                kind == "frame"
                and not names.add(body["camera"])
                and {"left", "middle", "right"} <= names
            ),
        )
        await client.disconnect()

    asyncio.run(scenario())


def test_a_client_joining_a_stopped_station_is_told_so_at_once(inspector, project):
    station = Station.objects.create(name="Idle", active=False)
    station.projects.set([project])
    token = _token(inspector)

    async def scenario():
        client = WebsocketCommunicator(
            application, f"/ws/stations/{station.pk}/live/?token={token}", headers=ORIGIN
        )
        assert (await client.connect())[0]
        kind, body = await _next(client, 2.0)
        assert kind == "status" and "stopped" in body
        # Stopped on purpose is not offline: no offline alarm follows, and no frames.
        assert await client.receive_nothing(timeout=6.5)
        await client.disconnect()

    asyncio.run(scenario())


def test_start_and_stop_through_the_api_by_role_and_a_trigger_while_stopped(
    client_for, make_user, inspector, project, request
):
    station = Station.objects.create(name="Gate")
    station.projects.set([project])
    supervisor = make_user("supervisor", Role.SUPERVISOR, project)
    request.addfinalizer(triggering.close_all)

    refused = client_for(inspector).post(f"/api/stations/{station.pk}/stop/")
    assert refused.status_code == 403
    stopped = client_for(supervisor).post(f"/api/stations/{station.pk}/stop/")
    assert stopped.status_code == 200
    assert stopped.json()["state"] == "stopped" and stopped.json()["changed_by"] == "supervisor"
    station.refresh_from_db()
    assert station.active is False and station.state_changed_at is not None

    trigger = client_for(inspector).post(f"/api/stations/{station.pk}/trigger/", {}, format="json")
    assert trigger.status_code == 409
    assert trigger.json()["code"] == "station_stopped" and "Gate" in trigger.json()["detail"]

    detail = client_for(inspector).get(f"/api/stations/{station.pk}/").json()
    assert detail["active"] is False
    started = client_for(supervisor).post(f"/api/stations/{station.pk}/start/")
    assert started.json()["state"] == "running"
    # Running again, the trigger gets past the state check (no model: a different 409).
    again = client_for(inspector).post(f"/api/stations/{station.pk}/trigger/", {}, format="json")
    assert again.status_code in (200, 409) and again.json().get("code") != "station_stopped"
    # Demoted to inspector, the same user may no longer stop it.
    Membership.objects.filter(user=supervisor).update(role=Role.INSPECTOR)
    demoted = type(supervisor).objects.get(pk=supervisor.pk)  # no cached roles
    assert client_for(demoted).post(f"/api/stations/{station.pk}/stop/").status_code == 403
