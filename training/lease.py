"""A running training job's lease: a heartbeat kept by its own thread, and a fence.

Batches beat often, but a job also spends minutes without any: loading a large snapshot,
validation, the ONNX export, quantization and the runtime gate. A heartbeat tied to batches
would let the reaper requeue a healthy job in those minutes, so the beat runs on a thread.

The fence: the beat only touches the row while it is still this attempt's (running, same
attempt number). Once the reaper has handed the job to another worker, the beat stops and
`lost` turns true; the old worker then stops at its next batch and writes nothing final.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from training.models import TrainingJob

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The job was given to another worker while this one still ran it."""


class Lease:
    def __init__(self, job_id: int, attempt: int, interval_s: float | None = None):
        self.job_id, self.attempt = job_id, attempt
        # Four beats per lease: one slow database round trip cannot cost the job.
        self.interval_s = interval_s or max(0.5, settings.TRAINING_LEASE_S / 4)
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(f"job {self.job_id} attempt {self.attempt} was taken over")

    def held(self, lock: bool = False) -> bool:
        """Whether the row is still this attempt's, read now; with `lock` (inside a
        transaction) the row stays locked, so the reaper cannot take it before the final
        writes commit."""
        if self.lost:
            return False
        rows = self._mine().select_for_update() if lock else self._mine()
        return rows.exists()

    def _mine(self):
        return TrainingJob.objects.filter(
            pk=self.job_id, status=TrainingJob.Status.RUNNING, attempts=self.attempt
        )

    def _taken_over(self) -> bool:
        # A row this connection cannot see at all is not proof of a takeover: it may not be
        # committed yet for other connections (a job run inside a caller's transaction).
        rows = TrainingJob.objects.filter(pk=self.job_id)
        return rows.exclude(status=TrainingJob.Status.RUNNING, attempts=self.attempt).exists()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    beaten = self._mine().update(heartbeat_at=timezone.now())
                except DatabaseError:
                    # A database blip: the lease has room for three more tries.
                    log.warning("heartbeat of job %s failed", self.job_id, exc_info=True)
                    connection.close()
                    continue
                if not beaten and self._taken_over():
                    self._lost.set()
                    return
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
