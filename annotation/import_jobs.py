"""Imports that run in the worker, with progress the browser can follow.

The upload is stored first; the worker imports it item by item, committing each item's rows
together with the job's progress (annotation/importing.py), so `done` always counts items that
are really in the project. A killed worker's job is taken up again (the task is redelivered,
or `reap_stale_imports` requeues it) and continues at the first item not committed; after
MAX_ATTEMPTS it is marked failed, saying how far it got.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import transaction
from django.utils import timezone

from annotation.formats.archive import ArchiveRejected, open_archive
from annotation.importing import MASK_MODES, ImportReport, collect, import_items
from annotation.models import Image, ImportJob, LabelVersion
from defect_platform.core.events import notify
from defect_platform.core.storage import delete_quietly, save_stream, unique_name

log = logging.getLogger(__name__)
Status = ImportJob.Status
MAX_ATTEMPTS = 3
SYNC_MAX_BYTES = 16 * 2**20  # smaller uploads are imported within the request by default
PROGRESS_EVERY_S = 0.5  # how often a running import tells the browser (each item commits)
# Files younger than this may belong to a writer that has not committed yet.
ORPHAN_MIN_AGE_S = 30


def lease_s() -> float:
    """How long a worker may go without committing progress before its job is taken over
    (the training lease: the same workers, the same notion of a stopped one)."""
    return float(settings.TRAINING_LEASE_S)


def pack_files(files) -> BinaryIO:
    """Loose uploaded files as one zip (stored, not compressed), so they import like an
    archive: masks beside images pair up, every file is reported on by its own name."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    used: set[str] = set()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for upload in files:
            name = PurePosixPath(str(getattr(upload, "name", "") or "upload")).name or "upload"
            stem, suffix, n = PurePosixPath(name).stem, PurePosixPath(name).suffix, 1
            while name.lower() in used:
                n += 1
                name = f"{stem}-{n}{suffix}"
            used.add(name.lower())
            with zf.open(name, "w", force_zip64=True) as fh:
                for chunk in upload.chunks():
                    fh.write(chunk)
    out.seek(0)
    return out


def upload_size(upload: BinaryIO) -> int:
    upload.seek(0, os.SEEK_END)
    size = upload.tell()
    upload.seek(0)
    return size


def job_event(job: ImportJob) -> dict:
    return {
        "import": job.pk,
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "error": job.error,
    }


def start(project, user, upload: BinaryIO, file_name: str, mask_mode: str, category: str):
    """Store the upload and queue its import (call inside a transaction). An upload that is
    not a readable, safe zip is refused now (ArchiveRejected), not in the worker."""
    if mask_mode not in MASK_MODES:
        raise ValueError(f"mask mode must be one of {MASK_MODES}")
    open_archive(upload, settings.MAX_IMPORT_BYTES).close()
    upload.seek(0)
    name = save_stream(unique_name(f"imports/{project.pk}", ".zip"), upload)
    try:
        job = ImportJob.objects.create(
            project=project,
            created_by=user,
            archive=name,
            file_name=PurePosixPath(file_name or "upload.zip").name[:255],
            mask_mode=mask_mode,
            category=category or "",
        )
    except BaseException:
        delete_quietly(name)
        raise
    transaction.on_commit(lambda: _enqueue(job.pk))
    notify(project.pk, "import.queued", job_event(job))
    return job


def _enqueue(job_id: int) -> None:
    from annotation.tasks import run_import

    run_import.delay(job_id)


def run(job_id: int) -> float:
    """Run (or resume) a job to its end in this process. Returns 0, or the seconds to wait
    before trying again when another worker holds the job's lease."""
    job, last_beat, wait = _claim(job_id)
    if job is None:
        return wait
    if last_beat is not None:
        removed = sweep_orphans(job.project_id, last_beat)
        log.warning("import %s resumed at item %s (attempt %s)", job.pk, job.done, job.attempts)
        if removed:
            log.warning("import %s: removed %s files of an unfinished item", job.pk, removed)
    try:
        report = _import(job)
    except ArchiveRejected as exc:
        _finish(job, Status.FAILED, str(exc))
    except Exception as exc:
        log.exception("import %s failed", job.pk)
        job.refresh_from_db()
        _finish(job, Status.FAILED, f"The import stopped at item {job.done + 1}: {exc}")
    else:
        if report.images:
            _finish(job, Status.SUCCEEDED, "", report)
        else:
            first = (
                report.errors[0] if report.errors else {"name": "archive", "reason": "no images"}
            )
            _finish(job, Status.FAILED, f"Nothing imported: {first['name']}: {first['reason']}")
    return 0.0


def _claim(job_id: int) -> tuple[ImportJob | None, datetime | None, float]:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in ImportJob.ACTIVE:
            return None, None, 0.0
        now = timezone.now()
        if job.status == Status.RUNNING and job.heartbeat_at:
            age = (now - job.heartbeat_at).total_seconds()
            if age < lease_s():
                return None, None, lease_s() - age  # running elsewhere, or only just stopped
        if job.attempts >= MAX_ATTEMPTS:
            _finish(job, Status.FAILED, _gave_up(job))
            return None, None, 0.0
        last_beat = job.heartbeat_at if job.attempts else None
        job.status, job.attempts, job.heartbeat_at = Status.RUNNING, job.attempts + 1, now
        job.started_at = job.started_at or now
        job.save(update_fields=["status", "attempts", "heartbeat_at", "started_at"])
    return job, last_beat, 0.0


def _gave_up(job: ImportJob) -> str:
    return (
        f"The worker stopped {job.attempts} times; {job.done} of {job.total} items were "
        "imported and stay. Upload the archive again to import the rest (what is already "
        "there is recognised and skipped)."
    )


def _import(job: ImportJob) -> ImportReport:
    if job.created_by is None:
        raise ArchiveRejected("The user who started this import no longer exists.")
    with default_storage.open(job.archive.name, "rb") as fh:
        archive = open_archive(fh, settings.MAX_IMPORT_BYTES)
        try:
            return _import_archive(job, archive)
        finally:
            archive.close()


def _import_archive(job: ImportJob, archive) -> ImportReport:
    items, ignored, errors = collect(list(archive.members), archive.read, job.category or None)
    if job.report:
        report = ImportReport(**job.report)  # resumed: go on from what was committed
    else:
        report = ImportReport(job.mask_mode, errors=archive.rejected + errors, ignored=ignored)
    job.total = len(items)
    ImportJob.objects.filter(pk=job.pk).update(
        total=job.total, report=report.as_dict(), heartbeat_at=timezone.now()
    )
    notify(job.project_id, "import.progress", job_event(job))
    last_told = [time.monotonic()]

    def checkpoint(n: int, total: int, report: ImportReport) -> None:
        # Runs inside the item's transaction: progress commits with the item, or not at all.
        ImportJob.objects.filter(pk=job.pk).update(
            done=n, report=report.as_dict(), heartbeat_at=timezone.now()
        )

    def progress(n: int, total: int) -> None:
        job.done = n
        if time.monotonic() - last_told[0] >= PROGRESS_EVERY_S or n == total:
            last_told[0] = time.monotonic()
            notify(job.project_id, "import.progress", job_event(job))

    return import_items(
        job.project,
        job.created_by,
        items,
        archive.read,
        job.mask_mode,
        progress,
        report=report,
        start=job.done,
        checkpoint=checkpoint,
    )


def _finish(job: ImportJob, status: str, error: str, report: ImportReport | None = None) -> None:
    fields = {"status": status, "error": error, "finished_at": timezone.now(), "archive": ""}
    if report is not None:
        fields["report"] = report.as_dict()
    ImportJob.objects.filter(pk=job.pk).update(**fields)
    name = job.archive.name
    transaction.on_commit(lambda: delete_quietly(name))
    job.refresh_from_db()
    notify(job.project_id, "import.finished", job_event(job))


def reap_stale_imports(now=None) -> list[int]:
    """Requeue running imports whose worker stopped committing (killed), or fail them for
    good after MAX_ATTEMPTS."""
    now = now or timezone.now()
    deadline = now - timedelta(seconds=lease_s())
    reaped = []
    for job in ImportJob.objects.filter(status=Status.RUNNING, heartbeat_at__lt=deadline):
        with transaction.atomic():
            fresh = ImportJob.objects.select_for_update().get(pk=job.pk)
            if fresh.status != Status.RUNNING or fresh.heartbeat_at >= deadline:
                continue
            if fresh.attempts >= MAX_ATTEMPTS:
                _finish(fresh, Status.FAILED, _gave_up(fresh))
            else:
                fresh.status = Status.QUEUED
                fresh.save(update_fields=["status"])
                transaction.on_commit(lambda pk=fresh.pk: _enqueue(pk))
            reaped.append(fresh.pk)
    return reaped


def sweep_orphans(project_id: int, since: datetime, now: float | None = None) -> int:
    """Remove the files a killed import wrote for the item it never committed: files of the
    project's images/ and masks/ folders that no row names, written after its last committed
    item (`since`) and not in the last ORPHAN_MIN_AGE_S (a live writer may not have committed
    yet). Returns how many were removed."""
    if not isinstance(default_storage, FileSystemStorage):
        return 0
    now = time.time() if now is None else now
    low, high = since.timestamp() - 5, now - ORPHAN_MIN_AGE_S
    known = {
        "images": set(Image.objects.filter(project_id=project_id).values_list("file", flat=True)),
        "masks": set(
            LabelVersion.objects.filter(label__image__project_id=project_id).values_list(
                "mask", flat=True
            )
        ),
    }
    removed = 0
    for folder, names in known.items():
        root = Path(default_storage.path(f"projects/{project_id}/{folder}"))
        if not root.is_dir():
            continue
        for path in root.iterdir():
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            if low <= mtime <= high and f"projects/{project_id}/{folder}/{path.name}" not in names:
                path.unlink(missing_ok=True)
                removed += 1
    return removed
