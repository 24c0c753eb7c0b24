"""A real Celery worker process trains on a small real subset of magnetic-tile (Blowhole
defects and defect-free tiles) to completion, and the metrics of both splits are stored."""

import subprocess
import sys
import time

import numpy as np
import pytest
from django.conf import settings
from PIL import Image as PILImage

from annotation.services import add_image, save_label
from tests.conftest import MAGNETIC_TILE, require_shared
from tests.processes import service_env, start_worker
from training import services
from training.models import ModelVersion, TrainingJob

pytestmark = [
    pytest.mark.integration,
    pytest.mark.realdata,
    pytest.mark.django_db(transaction=True),
]


def _pairs(folder, count):
    images = sorted((folder / "Imgs").glob("*.jpg"))[:count]
    return [(image, image.with_suffix(".png")) for image in images]


def _upload(project, owner, root) -> int:
    """Blowhole tiles with their masks and defect-free tiles as negatives; returns the number
    of defective images."""
    positives = 0
    for image_path, mask_path in _pairs(root / "MT_Blowhole", 6) + _pairs(root / "MT_Free", 3):
        image, _ = add_image(project, image_path.read_bytes(), image_path.name, owner)
        if np.asarray(PILImage.open(mask_path).convert("L")).max() >= 128:
            save_label(image, owner, "mask", mask_path.read_bytes(), False, None)
            positives += 1
        else:
            save_label(image, owner, "negative", None, False, None)
    return positives


def test_a_real_worker_trains_on_real_tiles_and_stores_metrics(project, owner, tmp_path):
    root = require_shared(MAGNETIC_TILE)
    project.input_height = project.input_width = 64
    project.save()
    positives = _upload(project, owner, root)
    assert positives == 6
    job = services.create_job(
        project,
        owner,
        {"epochs": 2, "batch_size": 3, "lr": 1e-3, "seed": 0, "val_fraction": 0.3},
        queue=False,
    )
    env = service_env(settings.MEDIA_ROOT)
    worker = start_worker(env, tmp_path)
    try:
        # Enqueue on the worker's broker (Redis, under this test's key prefix), as a web
        # process would.
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
        started = time.monotonic()
        while time.monotonic() - started < 240:
            job.refresh_from_db()
            if job.status in (TrainingJob.Status.SUCCEEDED, TrainingJob.Status.FAILED):
                break
            time.sleep(0.5)
        assert job.status == TrainingJob.Status.SUCCEEDED, f"{job.log}\n{worker.output()}"
    finally:
        worker.stop()

    assert job.worker and job.attempts == 1 and f"on {job.worker}" in job.log
    assert [h["epoch"] for h in job.history] == [0, 1]
    assert all(h["val_loss"] is not None for h in job.history)
    version = ModelVersion.objects.get(job=job)
    validation = sorted(job.dataset.validation)
    assert len(validation) == 3  # 30% of the 6 defective and of the 3 clean tiles
    stored = version.metrics
    assert stored["train"]["images"] == 6 and stored["validation"]["images"] == 3
    assert sorted(r["image"] for r in stored["validation"]["per_image"]) == validation
    for split in ("train", "validation"):
        assert 0.0 <= stored[split]["pixel"]["all"]["iou"] <= 1.0
        assert 0.0 <= stored[split]["image"]["f1"] <= 1.0
    assert stored["chosen_on"] == "validation"
    assert stored["decision_rule"]["objective"] == "f1"
    assert version.onnx and stored["onnx_parity_max_abs"] <= 1e-4
    assert (version.input_height, version.input_width) == (64, 64)
