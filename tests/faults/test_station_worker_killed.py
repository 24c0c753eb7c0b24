"""A station worker killed with SIGKILL: open live pages are told the station is offline
within seconds, and it comes back online when the worker is started again (the deploy
process file restarts it)."""

import json
import logging
import os
import signal
import time

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from websockets.sync.client import connect

from inspection.models import Station
from tests.processes import service_env, start_station, start_web

log = logging.getLogger(__name__)  # recovery times: run with --log-cli-level=INFO

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _status(ws, wanted: str, timeout: float) -> float:
    """Seconds until a {"type": "station", "status": wanted} message arrives."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        message = ws.recv(timeout=max(0.1, timeout - (time.monotonic() - started)))
        if isinstance(message, str) and json.loads(message) == {
            "type": "station",
            "status": wanted,
        }:
            return time.monotonic() - started
    raise AssertionError(f"no {wanted!r} status within {timeout} s")


def test_the_live_page_sees_a_killed_station_go_offline_and_come_back(project, owner, tmp_path):
    token = Token.objects.create(user=owner).key
    station = Station.objects.create(name="Line K", fps=5.0)
    station.projects.set([project])
    env = service_env(settings.MEDIA_ROOT, STATIONS_IN_WEB="0")
    processes = []
    try:
        web, url = start_web(env, tmp_path)
        processes.append(web)
        worker = start_station(env, tmp_path, station.pk)
        processes.append(worker)
        live = f"{url.replace('http', 'ws')}/ws/stations/{station.pk}/live/?token={token}"
        with connect(live, origin=url) as page:
            _status(page, "online", 60)
            os.killpg(worker.proc.pid, signal.SIGKILL)
            worker.proc.wait(timeout=10)
            offline_after = _status(page, "offline", 10)
            assert offline_after <= 6
            processes.append(start_station(env, tmp_path, station.pk, "station-again"))
            online_after = _status(page, "online", 60)
            assert online_after < 60
            log.info(
                f"recovery: offline shown {offline_after:.2f} s after the kill, online "
                f"{online_after:.2f} s after the restart"
            )
    finally:
        for process in processes:
            process.stop()
