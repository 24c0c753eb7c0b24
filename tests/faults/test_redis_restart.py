"""Redis restarted under a live stream: the web process and the station worker carry on
within 10 s, with no manual restart. Runs against a private redis-server on a spare port."""

import logging
import subprocess
import time

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from inspection.models import Station
from tests.live_frames import recv_frame
from tests.processes import free_port, service_env, start_station, start_web

log = logging.getLogger(__name__)  # recovery times: run with --log-cli-level=INFO

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
RECOVERY_S = 10.0


def _redis(port: int, tmp_path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True)
        if ping.stdout.strip() == b"PONG":
            return proc
        time.sleep(0.1)
    raise RuntimeError("private redis-server did not start")


def _fresh_frame(url: str, after: float, deadline: float) -> float:
    """Seconds until a frame captured after `after` arrives, reconnecting like the page."""
    while time.monotonic() < deadline:
        try:
            with connect(url, origin=url.split("/ws/")[0].replace("ws://", "http://")) as ws:
                while time.monotonic() < deadline:
                    header, _ = recv_frame(ws, max(0.1, deadline - time.monotonic()))
                    if header["ts"] > after:
                        return time.time() - after
        except (ConnectionClosed, TimeoutError, OSError):
            time.sleep(0.5)
    raise AssertionError("no fresh frame after the Redis restart")


def test_live_frames_resume_after_redis_restarts(project, owner, tmp_path):
    port = free_port()
    redis = _redis(port, tmp_path)
    token = Token.objects.create(user=owner).key
    station = Station.objects.create(name="Line R", fps=5.0)
    station.projects.set([project])
    env = service_env(settings.MEDIA_ROOT, STATIONS_IN_WEB="0")
    env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    env["CELERY_BROKER_URL"] = env["REDIS_URL"]
    processes = []
    try:
        web, url = start_web(env, tmp_path)
        processes.append(web)
        processes.append(start_station(env, tmp_path, station.pk))
        live = f"{url.replace('http', 'ws')}/ws/stations/{station.pk}/live/?token={token}"
        assert _fresh_frame(live, time.time(), time.monotonic() + 60) < 60

        # A page open through the restart must not stall: it either keeps getting frames or
        # is closed (and then reconnects, as the live page does).
        with connect(live, origin=url) as page:
            recv_frame(page, 30)
            redis.terminate()
            redis.wait(timeout=10)
            time.sleep(2)
            redis = _redis(port, tmp_path)
            back = time.time()
            outcome = "stalled"
            try:
                while time.time() - back < RECOVERY_S:
                    header, _ = recv_frame(page, RECOVERY_S)
                    if header["ts"] > back:
                        outcome = "resumed"
                        break
            except ConnectionClosed:
                outcome = "closed"
            except TimeoutError:
                pass
        assert outcome in ("resumed", "closed")
        took = _fresh_frame(live, back, time.monotonic() + 30)
        assert took <= RECOVERY_S, f"frames came back {took:.1f} s after Redis"
        log.info(f"recovery: live frames back {took:.2f} s after Redis restarted")
        assert web.proc.poll() is None, web.output()
        assert processes[1].proc.poll() is None, processes[1].output()
    finally:
        for process in processes:
            process.stop()
        redis.terminate()
        redis.wait(timeout=10)
