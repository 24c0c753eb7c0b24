"""A real Celery worker trains through a real ASGI server; a real websocket client watches."""

import json
import time

import pytest
import requests
from django.conf import settings
from rest_framework.authtoken.models import Token
from websockets.sync.client import connect

from tests.conftest import TINY_JOB
from tests.processes import service_env, start_web, start_worker
from training.models import ModelVersion, TrainingJob

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _events(ws, until, timeout=240):
    """Collect events from a websocket until `until(event)` is true."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            break
        if message.get("type") == "event":
            seen.append(message)
            if until(message):
                return seen
    raise AssertionError(f"condition not met; events seen: {[e['kind'] for e in seen]}")


def test_a_training_job_runs_on_a_real_worker_and_its_progress_streams_live(
    labelled_project, owner, tmp_path
):
    token = Token.objects.create(user=owner).key
    env = service_env(settings.MEDIA_ROOT)
    web, url = start_web(env, tmp_path)
    worker = start_worker(env, tmp_path)
    try:
        ws_url = url.replace("http", "ws") + f"/ws/projects/{labelled_project.pk}/events/"
        with connect(f"{ws_url}?token={token}", origin=url) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
            response = requests.post(
                f"{url}/api/projects/{labelled_project.pk}/jobs/",
                json=TINY_JOB,
                headers={"Authorization": f"Token {token}"},
                timeout=30,
            )
            assert response.status_code == 201, response.text
            job_id = response.json()["id"]
            events = _events(
                ws,
                lambda e: (
                    e["kind"] == "job.updated" and e["payload"]["status"] in ("succeeded", "failed")
                ),
            )
        job = TrainingJob.objects.get(pk=job_id)
        assert job.status == "succeeded", f"{job.log}\n{worker.output()}"
        assert ModelVersion.objects.filter(job=job).exists()
        kinds = [e["kind"] for e in events]
        assert "job.progress" in kinds
        assert events[-1]["payload"]["status"] == "succeeded"
        assert job.worker and job.attempts == 1
        # The accuracy gate ran (in a spawned child: the worker itself never loads OpenVINO,
        # whose thread pools made the fork-pool child die with SIGSEGV at shutdown).
        assert "serving runtime" in job.log
        worker.stop()
        log = worker.log_path.read_text(errors="replace")
        assert "exited with signal" not in log and "SIGSEGV" not in log, log[-3000:]
    finally:
        worker.stop()
        web.stop()
