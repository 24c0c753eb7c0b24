"""Background imports: stored upload, progress per item, the report, and a killed worker."""

import io
import os
import time
from datetime import timedelta

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image as PILImage

from annotation import import_jobs, importing
from annotation.models import Image, ImportJob, Label, LabelVersion
from annotation.tasks import reap_stale_imports, run_import
from defect_platform.core.models import ProjectEvent
from tests.conftest import make_image, png_bytes, zip_bytes


def _jpeg(seed, size=(48, 64)) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(make_image(seed, size)).save(buf, format="JPEG")
    return buf.getvalue()


def _square(value=255):
    mask = np.zeros((48, 64), np.uint8)
    mask[5:20, 5:30] = value
    return mask


GOOD = {f"T/Imgs/g{i}.jpg": _jpeg(i) for i in range(5)} | {
    f"T/Imgs/g{i}.png": png_bytes(_square() if i % 2 == 0 else _square(0)) for i in range(5)
}
BAD = {
    "T/Imgs/corrupt.jpg": _jpeg(7)[:300],  # truncated
    "T/Imgs/renamed.jpg": b"%PDF-1.4 not an image at all",
    "T/Imgs/empty.jpg": b"",
    "T/Imgs/wrong.jpg": _jpeg(8),
    "T/Imgs/wrong.png": png_bytes(np.zeros((5, 5), np.uint8)),
    "../escape.jpg": _jpeg(9),
}


def _post(client, project, data, wait="0", **fields):
    return client.post(
        f"/api/projects/{project.pk}/imports/?wait={wait}",
        {"archive": SimpleUploadedFile("set.zip", data, "application/zip"), **fields},
        format="multipart",
    )


def _media_files(settings) -> set[str]:
    root = settings.MEDIA_ROOT
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _referenced() -> set[str]:
    images = set(Image.objects.values_list("file", flat=True))
    masks = set(LabelVersion.objects.exclude(mask="").values_list("mask", flat=True))
    return images | masks


@pytest.mark.django_db
def test_a_background_import_reports_progress_and_every_bad_item_by_name(
    project, owner, client_for, settings, django_capture_on_commit_callbacks
):
    client = client_for(owner)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = _post(client, project, zip_bytes(GOOD | BAD), masks="binary")
    assert response.status_code == 202, response.json()
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.file_name, job.created_by) == ("queued", "set.zip", owner)
    assert len(queued) == 2 and job.archive.storage.exists(job.archive.name)  # task, event

    with django_capture_on_commit_callbacks(execute=True):
        run_import(job.pk)  # what the worker runs

    body = client.get(f"/api/imports/{job.pk}/").json()
    assert (body["status"], body["done"], body["total"], body["progress"]) == (
        "succeeded",
        9,
        9,
        1.0,
    )
    report = body["report"]
    assert (report["images"], report["created"], report["labelled"], report["negatives"]) == (
        6,
        6,
        3,
        2,
    )
    reasons = {e["name"]: e["reason"] for e in report["errors"]}
    assert set(reasons) == {
        "../escape.jpg",
        "T/Imgs/corrupt.jpg",
        "T/Imgs/renamed.jpg",
        "T/Imgs/empty.jpg",
        "T/Imgs/wrong.png",
    }
    assert "'..'" in reasons["../escape.jpg"]
    assert "truncated" in reasons["T/Imgs/corrupt.jpg"].lower()
    assert "Not an image" in reasons["T/Imgs/renamed.jpg"]
    assert "empty" in reasons["T/Imgs/empty.jpg"]
    assert "5x5" in reasons["T/Imgs/wrong.png"]
    # The wrongly sized mask is reported; its image is imported without a label.
    assert not Image.objects.get(source_name="T/Imgs/wrong.jpg").labels.exists()
    # The stored upload is gone; every file left is named by a row.
    assert _media_files(settings) == _referenced()
    progress = ProjectEvent.objects.filter(project=project, kind="import.progress")
    assert progress.last().payload | {"error": ""} == {
        "import": job.pk,
        "status": "running",
        "done": 9,
        "total": 9,
        "error": "",
    }
    assert ProjectEvent.objects.filter(kind="import.finished").get().payload["status"] == (
        "succeeded"
    )
    listed = client.get(f"/api/projects/{project.pk}/imports/").json()["results"]
    assert [row["id"] for row in listed] == [job.pk]


@pytest.mark.django_db
def test_loose_image_files_import_like_an_archive_with_masks_paired(project, owner, client_for):
    files = [
        SimpleUploadedFile("a.jpg", _jpeg(1)),
        SimpleUploadedFile("a.png", png_bytes(_square())),
        SimpleUploadedFile("b.jpg", _jpeg(2)),
        SimpleUploadedFile("nothing.jpg", b""),
    ]
    response = client_for(owner).post(
        f"/api/projects/{project.pk}/imports/?wait=1", {"files": files}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    report = response.json()
    assert (report["images"], report["labelled"]) == (2, 1)
    assert report["errors"] == [{"name": "nothing.jpg", "reason": "The file is empty."}]


@pytest.mark.django_db
def test_a_worker_killed_mid_import_leaves_whole_items_and_the_next_one_resumes(
    project, owner, client_for, settings, monkeypatch, django_capture_on_commit_callbacks
):
    class Killed(BaseException):
        """SIGKILL: nothing after it runs, no cleanup, the transaction never commits."""

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(import_jobs, "_enqueue", lambda pk: None)
        response = _post(client_for(owner), project, zip_bytes(GOOD))
    job = ImportJob.objects.get(pk=response.json()["id"])
    real_save, saves = importing.save_label, []

    def save_then_die(*args, **kwargs):
        version = real_save(*args, **kwargs)
        saves.append(version)
        if len(saves) == 3:
            raise Killed
        return version

    monkeypatch.setattr(importing, "save_label", save_then_die)
    monkeypatch.setattr(importing, "delete_quietly", lambda name: None)
    with pytest.raises(Killed):
        run_import(job.pk)
    monkeypatch.undo()

    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.attempts) == ("running", 2, 5, 1)
    # Item 3 is not half there: its image and label rows rolled back together.
    assert Image.objects.count() == Label.objects.count() == 2
    orphans = _media_files(settings) - _referenced() - {job.archive.name}
    assert len(orphans) == 2  # its image and mask files, written before the rows
    # Time passes: the lease lapses and the reaper hands the job to the next worker.
    then = time.time() - 200
    for name in orphans:
        os.utime(settings.MEDIA_ROOT / name, (then, then))
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=210))
    assert reap_stale_imports() == [job.pk]
    assert ImportJob.objects.get(pk=job.pk).status == "queued"

    with django_capture_on_commit_callbacks(execute=True):
        run_import(job.pk)

    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.attempts) == ("succeeded", 5, 5, 2)
    # Counted once each: the resumed run went on from the committed item, not from the start.
    assert (job.report["created"], job.report["duplicates"], job.report["labelled"]) == (5, 0, 3)
    assert Image.objects.count() == Label.objects.count() == 5
    assert _media_files(settings) == _referenced()


@pytest.mark.django_db
def test_a_job_whose_worker_keeps_dying_is_failed_saying_how_far_it_got(
    project, owner, django_capture_on_commit_callbacks, settings
):
    name = "imports/1/x.zip"
    (settings.MEDIA_ROOT / "imports/1").mkdir(parents=True)
    (settings.MEDIA_ROOT / name).write_bytes(zip_bytes(GOOD))
    job = ImportJob.objects.create(
        project=project,
        created_by=owner,
        archive=name,
        status="running",
        attempts=import_jobs.MAX_ATTEMPTS,
        total=5,
        done=3,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert reap_stale_imports() == [job.pk]
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at
    assert "3 of 5 items were imported" in job.error and "Upload the archive again" in job.error
    assert not (settings.MEDIA_ROOT / name).exists()


@pytest.mark.django_db
def test_a_redelivered_task_waits_while_another_worker_holds_the_lease(project, owner):
    job = ImportJob.objects.create(
        project=project, created_by=owner, status="running", heartbeat_at=timezone.now()
    )
    wait = import_jobs.run(job.pk)
    assert 0 < wait <= import_jobs.lease_s()
    assert ImportJob.objects.get(pk=job.pk).attempts == 0


@pytest.mark.django_db
def test_garbage_sent_for_the_background_is_refused_at_once_and_nothing_is_kept(
    project, owner, client_for, settings
):
    client = client_for(owner)
    response = _post(client, project, b"PK\x03\x04 not a zip")
    assert response.status_code == 400 and "zip" in response.json()["detail"]
    empty = client.post(
        f"/api/projects/{project.pk}/imports/?wait=0",
        {"archive": SimpleUploadedFile("e.zip", b"")},
        format="multipart",
    )
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]
    nothing = client.post(f"/api/projects/{project.pk}/imports/", {}, format="multipart")
    assert nothing.status_code == 400 and "zip" in nothing.json()["detail"]
    bad_wait = _post(client, project, zip_bytes(GOOD), wait="maybe")
    assert bad_wait.status_code == 400
    assert not ImportJob.objects.exists() and not _media_files(settings)


@pytest.mark.django_db
def test_an_archive_with_nothing_importable_fails_with_the_first_reason(project, owner, client_for):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(import_jobs, "_enqueue", lambda pk: None)
        response = _post(client_for(owner), project, zip_bytes({"a.jpg": b"nope"}))
    run_import(response.json()["id"])
    job = ImportJob.objects.get()
    assert job.status == "failed" and job.error.startswith("Nothing imported: a.jpg:")
    assert job.report["errors"][0]["name"] == "a.jpg"
