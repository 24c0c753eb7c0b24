"""The training lease: a heartbeat that needs no batches, and the fence against a worker
whose job the reaper handed to another."""

import time

import pytest
from django.utils import timezone

from tests.conftest import TINY_JOB
from training import services
from training.lease import Lease, LeaseLost
from training.models import ModelVersion, TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)


def _wait(predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _running_job(project, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job = services.create_job(project, owner, dict(TINY_JOB))
    started = timezone.now() - timezone.timedelta(minutes=10)
    TrainingJob.objects.filter(pk=job.pk).update(status="running", attempts=1, heartbeat_at=started)
    return job, started


def test_the_lease_beats_without_batches_and_notices_a_takeover(
    labelled_project, owner, django_capture_on_commit_callbacks
):
    job, started = _running_job(labelled_project, owner, django_capture_on_commit_callbacks)
    with Lease(job.pk, attempt=1, interval_s=0.1) as lease:
        assert _wait(lambda: TrainingJob.objects.get(pk=job.pk).heartbeat_at > started)
        assert lease.held() and not lease.lost
        # The reaper requeued it and another worker claimed it (attempt 2).
        TrainingJob.objects.filter(pk=job.pk).update(attempts=2)
        assert _wait(lambda: lease.lost)
        assert not lease.held()
        with pytest.raises(LeaseLost):
            lease.check()


def test_a_worker_that_lost_its_job_writes_nothing_final(
    labelled_project, owner, django_capture_on_commit_callbacks, monkeypatch, settings
):
    job, _ = _running_job(labelled_project, owner, django_capture_on_commit_callbacks)
    TrainingJob.objects.filter(pk=job.pk).update(status="queued", attempts=0)
    from training.ml import train as ml_train

    real_train = ml_train.train

    def train_then_lose_the_job(*args, **kwargs):
        result = real_train(*args, **kwargs)
        # While this worker exported, the reaper gave the job to another worker.
        TrainingJob.objects.filter(pk=job.pk).update(attempts=2, log="")
        return result

    monkeypatch.setattr(ml_train, "train", train_then_lose_the_job)
    services.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "running" and job.attempts == 2  # the other worker's, untouched
    assert not ModelVersion.objects.filter(job=job).exists()
    assert "succeeded" not in job.log
    models = settings.MEDIA_ROOT / f"projects/{job.project_id}/models"
    assert not models.exists() or not any(models.iterdir())  # its artifacts were dropped
