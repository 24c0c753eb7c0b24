"""kill -9 of the worker mid-training: beat's reaper requeues the job and a new worker
finishes it from its last checkpoint."""

import logging
import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings

from tests.processes import Process, service_env, start_worker
from training import services
from training.models import ModelVersion

log = logging.getLogger(__name__)  # recovery times: run with --log-cli-level=INFO

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _wait(predicate, timeout, what, *processes):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    logs = "\n".join(p.output() for p in processes)
    raise AssertionError(f"{what} did not happen within {timeout} s\n{logs}")


def test_a_killed_worker_job_resumes_from_its_checkpoint(
    labelled_project, owner, tmp_path, django_capture_on_commit_callbacks
):
    env = service_env(settings.MEDIA_ROOT, TRAINING_LEASE_S="5", REAPER_INTERVAL_S="1")
    with django_capture_on_commit_callbacks(execute=False):
        job = services.create_job(
            labelled_project,
            owner,
            {
                "epochs": 16,
                "batch_size": 2,
                "lr": 0.01,
                "seed": 0,
                "max_steps_per_epoch": 2,
            },
        )
    # Enqueue on the workers' broker (Redis), as a web process would.
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            f"from training.tasks import run_training_job; run_training_job.delay({job.pk})",
        ],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
    )
    first = start_worker(env, tmp_path, "worker-1")
    beat = Process(
        "beat",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "defect_platform",
            "beat",
            "--schedule",
            str(tmp_path / "beat-schedule"),
        ],
        env,
        tmp_path,
    )
    second = None
    try:

        def has_checkpoint():
            job.refresh_from_db()
            return bool(job.checkpoint) and job.epoch >= 1

        _wait(has_checkpoint, 180, "a first checkpoint", first)
        os.killpg(first.proc.pid, signal.SIGKILL)  # the worker and its pool child, no goodbye
        first.proc.wait(timeout=10)
        killed_at_epoch = job.epoch
        killed_at = time.monotonic()
        second = start_worker(env, tmp_path, "worker-2")

        def finished():
            job.refresh_from_db()
            return job.status in ("succeeded", "failed")

        _wait(finished, 300, "the job finishing", second, beat)
        assert job.status == "succeeded", job.log
        assert job.attempts == 2
        assert "stopped responding; requeued" in job.log
        assert "resuming from checkpoint" in job.log
        epochs = [h["epoch"] for h in job.history]
        assert epochs == list(range(16)), epochs  # no epoch lost or repeated
        assert killed_at_epoch < 15
        assert ModelVersion.objects.filter(job=job).count() == 1
        log.info(
            f"recovery: job killed at epoch {killed_at_epoch}, resumed and finished "
            f"{time.monotonic() - killed_at:.1f} s later"
        )
    finally:
        for process in (second, beat, first):
            if process is not None:
                process.stop()
