"""Scaled-out mode: two web processes, a worker and a station worker on PostgreSQL + Redis."""

import json
import time

import pytest
import requests
from django.conf import settings
from rest_framework.authtoken.models import Token
from websockets.sync.client import connect

from inspection.models import Station
from tests.conftest import make_image, png_bytes
from tests.live_frames import recv_frame
from tests.processes import service_env, start_station, start_web, start_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_events_and_station_frames_cross_web_processes(project, owner, tmp_path):
    token = Token.objects.create(user=owner).key
    station = Station.objects.create(name="Line 2", fps=5.0)
    station.projects.set([project])
    env = service_env(settings.MEDIA_ROOT, STATIONS_IN_WEB="0")
    processes = []
    try:
        web_a, url_a = start_web(env, tmp_path, "web-a")
        processes.append(web_a)
        web_b, url_b = start_web(env, tmp_path, "web-b")
        processes.append(web_b)
        processes.append(start_worker(env, tmp_path))
        processes.append(start_station(env, tmp_path, station.pk))
        ws_b = url_b.replace("http", "ws")
        with connect(
            f"{ws_b}/ws/projects/{project.pk}/events/?token={token}", origin=url_b
        ) as events:
            assert json.loads(events.recv(timeout=10))["type"] == "hello"
            upload = requests.post(
                f"{url_a}/api/projects/{project.pk}/images/",
                files=[("files", ("a.png", png_bytes(make_image(5)), "image/png"))],
                headers={"Authorization": f"Token {token}"},
                timeout=30,
            )
            assert upload.status_code == 201, upload.text
            event = json.loads(events.recv(timeout=10))
            assert (event["kind"], event["payload"]["count"]) == ("images.added", 1)

        with connect(f"{ws_b}/ws/stations/{station.pk}/live/?token={token}", origin=url_b) as live:
            frames = [recv_frame(live, 30) for _ in range(4)]
        cameras = {header["camera"] for header, _ in frames}
        assert cameras == {"cam1", "cam2"}
        ages = [time.time() - header["ts"] for header, _ in frames]
        assert max(ages) < 5.0
    finally:
        for process in reversed(processes):
            process.stop()
