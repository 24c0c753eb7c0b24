"""Websocket consumers through the real ASGI application (in-memory channel layer)."""

import asyncio

import pytest
from channels.testing import WebsocketCommunicator

from defect_platform.asgi import application
from defect_platform.core.events import notify
from inspection.models import Station
from tests.live_frames import receive_frame

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = [(b"origin", b"http://localhost")]


def _token(user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=user)[0].key if user else ""


def _connect(path, token):
    return WebsocketCommunicator(application, f"{path}?token={token}", headers=ORIGIN)


async def _closed_with(communicator) -> int:
    connected, _ = await communicator.connect()
    assert connected
    message = await communicator.receive_output(timeout=5)
    while message["type"] != "websocket.close":
        message = await communicator.receive_output(timeout=5)
    return message["code"]


def test_project_events_reach_members_and_outsiders_are_refused(owner, outsider, project):
    owner, outsider = _token(owner), _token(outsider)

    async def scenario():
        member = _connect(f"/ws/projects/{project.pk}/events/", owner)
        connected, _ = await member.connect()
        assert connected
        assert (await member.receive_json_from(timeout=5))["type"] == "hello"
        from asgiref.sync import sync_to_async

        event = await sync_to_async(notify)(project.pk, "job.progress", {"job": 1, "progress": 0.5})
        received = await member.receive_json_from(timeout=5)
        assert (received["id"], received["kind"]) == (event.pk, "job.progress")
        assert received["payload"]["progress"] == 0.5
        await member.disconnect()
        # A reconnecting client replays what it missed.
        again = _connect(f"/ws/projects/{project.pk}/events/", owner)
        await again.connect()
        await again.receive_json_from(timeout=5)
        await again.send_json_to({"since": event.pk - 1})
        replayed = await again.receive_json_from(timeout=5)
        assert replayed["id"] == event.pk
        await again.disconnect()
        assert await _closed_with(_connect(f"/ws/projects/{project.pk}/events/", outsider)) == 4404
        assert await _closed_with(_connect(f"/ws/projects/{project.pk}/events/", "")) == 4401

    asyncio.run(scenario())


def test_a_station_streams_different_frames_from_each_camera(inspector, outsider, project):
    station = Station.objects.create(name="Line", fps=8.0)
    station.projects.set([project])
    inspector, outsider = _token(inspector), _token(outsider)

    async def scenario():
        client = _connect(f"/ws/stations/{station.pk}/live/", inspector)
        connected, _ = await client.connect()
        assert connected
        frames = []
        while len(frames) < 6:
            frame = await receive_frame(client, 10)
            assert isinstance(frame, tuple), frame
            frames.append(frame)
        await client.disconnect()
        cameras = {header["camera"] for header, _ in frames}
        assert cameras == {"cam1", "cam2"}
        jpegs = [jpeg for _, jpeg in frames]
        assert all(j[:2] == b"\xff\xd8" for j in jpegs)  # JPEG
        assert len(set(jpegs)) == len(jpegs)  # views differ, and so do captures over time
        assert len({header["seq"] for header, _ in frames}) >= 2
        assert await _closed_with(_connect(f"/ws/stations/{station.pk}/live/", outsider)) == 4404

    asyncio.run(scenario())


def test_a_slow_client_gets_the_newest_frames_not_a_backlog(inspector, project):
    station = Station.objects.create(name="Line", fps=10.0)
    station.projects.set([project])
    token = _token(inspector)

    async def frame(client):
        got = await receive_frame(client, 10)
        assert isinstance(got, tuple), got
        return got[0]

    async def scenario():
        client = WebsocketCommunicator(
            application, f"/ws/stations/{station.pk}/live/?token={token}&ack=1", headers=ORIGIN
        )
        assert (await client.connect())[0]
        window = [await frame(client) for _ in range(4)]  # 2 cameras x 2 frames in flight
        assert await client.receive_nothing(timeout=2.0)  # nothing more until acknowledged
        await client.send_to(text_data='{"ack": 4}')
        fresh = [await frame(client) for _ in range(2)]
        await client.disconnect()
        last_seen = max(h["seq"] for h in window)
        # Only the newest frame per camera was kept while the browser was busy.
        assert {h["camera"] for h in fresh} == {"cam1", "cam2"}
        assert min(h["seq"] for h in fresh) >= last_seen + 3
        assert fresh[-1]["dropped"] > 0
        assert all(h["dropped"] == 0 for h in window)

    asyncio.run(scenario())


def test_websockets_from_foreign_origins_are_refused(owner, project):
    async def scenario():
        client = WebsocketCommunicator(
            application,
            f"/ws/projects/{project.pk}/events/",
            headers=[(b"origin", b"http://evil.example")],
        )
        connected, _ = await client.connect()
        assert not connected

    asyncio.run(scenario())


def test_a_dead_camera_is_reported_offline_while_the_others_stream(inspector, project, tmp_path):
    station = Station.objects.create(
        name="Mixed",
        fps=8.0,
        cameras=[
            {"name": "good", "kind": "synthetic"},
            {"name": "dead", "kind": "stream", "source": "http://127.0.0.1:9/none.mjpg"},
        ],
    )
    station.projects.set([project])
    token = _token(inspector)

    async def scenario():
        client = _connect(f"/ws/stations/{station.pk}/live/", token)
        assert (await client.connect())[0]
        headers = []
        while len(headers) < 6:
            got = await receive_frame(client, 15)
            assert isinstance(got, tuple), got
            header, jpeg = got
            headers.append((header, jpeg))
        await client.disconnect()
        return headers

    headers = asyncio.run(scenario())
    good = [(h, j) for h, j in headers if h["camera"] == "good"]
    dead = [h for h, _ in headers if h["camera"] == "dead"]
    assert good and all(h["status"] == "online" and j[:2] == b"\xff\xd8" for h, j in good)
    assert dead and all(h["status"] == "offline" and h["error"] for h in dead)
