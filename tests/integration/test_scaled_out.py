"""Scaled-out mode: two web processes, a worker and a station worker on PostgreSQL + Redis."""

import json
import time

import pytest
import requests
from django.conf import settings
from rest_framework.authtoken.models import Token
from websockets.sync.client import connect

from inspection.models import InspectionRecord, Station
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


def _trigger(url: str, station: Station, auth: dict, serial: str) -> requests.Response:
    return requests.post(
        f"{url}/api/stations/{station.pk}/trigger/",
        json={"serial": serial},
        headers=auth,
        timeout=60,
    )


def test_a_trigger_is_captured_by_the_station_worker_holding_the_cameras(
    trained_model, owner, tmp_path
):
    # judge_live off: the only records are the triggers'.
    station = Station.objects.create(name="Gate 3", fps=2.0, judge_live=False)
    station.projects.set([trained_model.project])
    auth = {"Authorization": f"Token {Token.objects.create(user=owner).key}"}
    env = service_env(settings.MEDIA_ROOT, STATIONS_IN_WEB="0", TRIGGER_ANSWER_S="4")
    web, url = start_web(env, tmp_path, "web")
    runner = start_station(env, tmp_path, station.pk)
    try:
        deadline = time.monotonic() + 90
        answer = _trigger(url, station, auth, "S-1")
        while answer.status_code == 503 and time.monotonic() < deadline:
            answer = _trigger(url, station, auth, "S-1")  # the worker is still loading
        assert answer.status_code == 200, f"{answer.text}\n{runner.output()}"
        verdict = answer.json()
        assert (verdict["station"], verdict["serial"]) == (station.pk, "S-1")
        assert set(verdict["quality"]) == {"cam1", "cam2"}
        record = InspectionRecord.objects.get(pk=verdict["id"])
        assert record.result["models"][0]["model_version"] == trained_model.pk

        # Without the worker no one holds the cameras: the web process does not open them
        # itself (a USB camera cannot be opened twice), it says the station is unreachable.
        runner.stop()
        started = time.monotonic()
        gone = _trigger(url, station, auth, "S-2")
        assert gone.status_code == 503, gone.text
        assert gone.json()["code"] == "station_unreachable"
        assert "run_station" in gone.json()["detail"]
        assert time.monotonic() - started < 15
        assert not InspectionRecord.objects.filter(station=station, serial="S-2").exists()

        # A worker started later does not capture for the caller who gave up.
        runner = start_station(env, tmp_path, station.pk, name="station-again")
        deadline = time.monotonic() + 90
        again = _trigger(url, station, auth, "S-3")
        while again.status_code == 503 and time.monotonic() < deadline:
            again = _trigger(url, station, auth, "S-3")
        assert again.status_code == 200, f"{again.text}\n{runner.output()}"
        assert not InspectionRecord.objects.filter(station=station, serial="S-2").exists()
    finally:
        runner.stop()
        web.stop()
