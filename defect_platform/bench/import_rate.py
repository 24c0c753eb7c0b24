"""Import rate: images per second into a project, masks becoming labels.

Two paths over the same data: the folder import `manage.py import_dataset` runs, and the same
files as a zip through a background import job (the worker's path, which also commits the
job's progress with every item). Full mode imports the magnetic-tile folders; quick mode a
small synthetic zip.

Runs inside a transaction that is rolled back, with media in a temporary folder, so the
benchmark leaves nothing behind in the platform's data. Each item still writes and fsyncs its
files and runs its own (nested) transaction; only the final commit is missing.
"""

from __future__ import annotations

import io
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings
from PIL import Image as PILImage

from annotation import import_jobs
from annotation.formats.pairing import type_folders
from annotation.importing import import_folder
from annotation.models import ImportJob
from defect_platform.core.models import Membership, Project


class _Rollback(Exception):
    pass


def synthetic_folder(root: Path, count: int = 12, size=(64, 96)) -> Path:
    """`<Type>/Imgs/<stem>.jpg` + `<stem>.png` like the real data; every other mask empty."""
    rng = np.random.default_rng(0)
    imgs = root / "MT_Synthetic" / "Imgs"
    imgs.mkdir(parents=True)
    for i in range(count):
        pixels = rng.integers(0, 255, size, dtype=np.uint8)
        mask = np.zeros(size, np.uint8)
        if i % 2 == 0:
            mask[8:24, 10:40] = 255
        PILImage.fromarray(pixels, "L").save(imgs / f"s{i}.jpg", quality=90)
        PILImage.fromarray(mask, "L").save(imgs / f"s{i}.png")
    return root


def _zip_folder(root: Path, folders: list[Path]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for folder in folders:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(root).as_posix())
    return buf.getvalue()


def _project(user, name: str) -> Project:
    project = Project.objects.create(
        name=name, slug=f"bench-{name}-{uuid.uuid4().hex[:8]}", created_by=user
    )
    Membership.objects.create(project=project, user=user, role="owner")
    return project


def measure(data: Path | None, quick: bool) -> dict:
    """Images/s importing every `<Type>/Imgs` folder under `data` (quick: a synthetic set)."""
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-import-") as scratch:
        if quick:
            root = synthetic_folder(Path(scratch) / "data")
            folders = [root / "MT_Synthetic"]
            figures["annotation.import_data"] = f"synthetic ({len(folders)} folder)"
        else:
            root = Path(data)
            folders = type_folders(root)
            if not folders:
                raise FileNotFoundError(f"{root} holds no <Type>/Imgs folder")
            figures["annotation.import_data"] = "magnetic-tile " + " + ".join(
                f.name for f in folders
            )
        archive = _zip_folder(root, folders)
        try:
            with (
                tempfile.TemporaryDirectory(prefix="bench-media-") as media,
                override_settings(MEDIA_ROOT=media),
                transaction.atomic(),
            ):
                user = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:8]}")
                figures |= _folder_rate(_project(user, "folder"), user, folders)
                figures |= _job_rate(_project(user, "job"), user, archive)
                raise _Rollback
        except _Rollback:
            pass
    return figures


def _folder_rate(project, user, folders: list[Path]) -> dict:
    images = labelled = errors = 0
    started = time.perf_counter()
    for folder in folders:
        report = import_folder(project, user, folder, "binary")
        images += report.images
        labelled += report.labelled + report.negatives
        errors += len(report.errors)
    seconds = time.perf_counter() - started
    if errors or not images:
        raise RuntimeError(f"the benchmark data did not import cleanly: {errors} errors")
    return {
        "annotation.import_images": images,
        "annotation.import_labels": labelled,
        "annotation.import_seconds": round(seconds, 3),
        "annotation.import_images_per_s": images / seconds,
    }


def _job_rate(project, user, archive: bytes) -> dict:
    upload = io.BytesIO(archive)
    started = time.perf_counter()
    job = import_jobs.start(project, user, upload, "bench.zip", "binary", "")
    import_jobs.run(job.pk)
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    if job.status != ImportJob.Status.SUCCEEDED:
        raise RuntimeError(f"the benchmark import job {job.status}: {job.error}")
    return {
        "annotation.import_job_images": job.report["images"],
        "annotation.import_job_images_per_s": job.report["images"] / seconds,
    }
