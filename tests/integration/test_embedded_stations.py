"""Embedded mode: the web process runs every active station whether anyone watches or not. A
station started through the API with no live page open captures, judges, stores and
publishes its verdicts, and answers triggers with the cameras it holds; stopped through the
API, it stops."""

import time
import uuid

import pytest
import requests
from django.conf import settings
from rest_framework.authtoken.models import Token

from inspection.models import InspectionRecord, Station
from tests.mqtt_subscriber import BROKER, subscribe
from tests.processes import service_env, start_web

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _records(station) -> int:
    return InspectionRecord.objects.filter(station=station).count()


def _wait_for(condition, timeout: float, what: str, web) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s:\n{web.output()}")
        time.sleep(0.5)


def test_a_station_started_through_the_api_runs_with_no_one_watching(
    trained_model, owner, tmp_path
):
    station = Station.objects.create(name="Unwatched", fps=4.0, active=False)
    station.projects.set([trained_model.project])
    auth = {"Authorization": f"Token {Token.objects.create(user=owner).key}"}
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    client, verdicts = subscribe(f"{prefix}/stations/{station.pk}/verdicts")
    env = service_env(
        settings.MEDIA_ROOT,
        redis=False,
        STATIONS_IN_WEB="1",
        MQTT_URL=f"mqtt://{BROKER[0]}:{BROKER[1]}",
        MQTT_TOPIC_PREFIX=prefix,
    )
    web, url = start_web(env, tmp_path)
    try:
        time.sleep(3)
        assert _records(station) == 0  # stopped: the server runs it not

        started = requests.post(f"{url}/api/stations/{station.pk}/start/", headers=auth, timeout=30)
        assert started.status_code == 200 and started.json()["state"] == "running", started.text
        _wait_for(lambda: _records(station) >= 3, 120, "no three records", web)
        verdict = verdicts.get(timeout=30)
        assert verdict["station"] == station.pk
        record = InspectionRecord.objects.get(pk=verdict["id"])
        assert record.verdict == verdict["verdict"]
        assert record.result["models"][0]["model_version"] == trained_model.pk

        # A trigger goes to the runner that holds the cameras, in this same process.
        triggered = requests.post(
            f"{url}/api/stations/{station.pk}/trigger/",
            json={"serial": "T-1"},
            headers=auth,
            timeout=60,
        )
        assert triggered.status_code == 200, triggered.text
        assert triggered.json()["serial"] == "T-1"
        assert InspectionRecord.objects.get(pk=triggered.json()["id"]).station_id == station.pk

        stopped = requests.post(f"{url}/api/stations/{station.pk}/stop/", headers=auth, timeout=30)
        assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
        time.sleep(3)  # the runner reads the stop within a second; a judged capture may land
        after_stop = _records(station)
        time.sleep(4)
        assert _records(station) == after_stop
        log = web.log_path.read_text(errors="replace")
        assert f"station {station.pk}: running in this process" in log
    finally:
        web.stop()
        client.loop_stop()
        client.disconnect()
