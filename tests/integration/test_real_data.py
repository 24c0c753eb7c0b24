"""The slice on real defect images: magnetic-tile Blowhole and Free, from ../shared."""

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from annotation.models import LabelVersion
from tests.conftest import MAGNETIC_TILE, require_shared
from training import services

pytestmark = pytest.mark.realdata


def _pairs(folder, count):
    images = sorted((folder / "Imgs").glob("*.jpg"))[:count]
    return [(image, image.with_suffix(".png")) for image in images]


def test_real_images_upload_label_train_and_inspect(
    client_for, owner, inspector, project, django_capture_on_commit_callbacks
):
    root = require_shared(MAGNETIC_TILE)
    project.input_height = project.input_width = 128
    project.save()
    client = client_for(owner)
    positives = _pairs(root / "MT_Blowhole", 6)
    negatives = _pairs(root / "MT_Free", 3)
    for image_path, mask_path in positives + negatives:
        upload = SimpleUploadedFile(image_path.name, image_path.read_bytes(), "image/jpeg")
        created = client.post(
            f"/api/projects/{project.pk}/images/", {"files": [upload]}, format="multipart"
        )
        assert created.status_code == 201, created.json()
        image = created.json()["created"][0]
        source = np.asarray(PILImage.open(mask_path).convert("L"))
        assert (image["height"], image["width"]) == source.shape
        if source.any():
            mask = SimpleUploadedFile("mask.png", mask_path.read_bytes(), "image/png")
            saved = client.post(
                f"/api/images/{image['id']}/labels/", {"mask": mask}, format="multipart"
            )
        else:
            saved = client.post(
                f"/api/images/{image['id']}/labels/", {"kind": "negative"}, format="multipart"
            )
        assert saved.status_code == 201, saved.json()
        version = LabelVersion.objects.get(pk=saved.json()["id"])
        if version.mask:
            stored = np.asarray(PILImage.open(version.mask.path))
            assert np.array_equal(stored, np.where(source >= 128, 255, 0))

    with django_capture_on_commit_callbacks(execute=False):
        job = services.create_job(
            project,
            owner,
            {"epochs": 1, "batch_size": 3, "lr": 1e-3, "seed": 0, "max_steps_per_epoch": 2},
        )
    services.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.log

    image_path, _ = positives[0]
    verdict = client_for(inspector).post(
        "/api/inspect/",
        {
            "project": project.pk,
            "images": [SimpleUploadedFile(image_path.name, image_path.read_bytes(), "image/jpeg")],
        },
        format="multipart",
    )
    assert verdict.status_code == 200, verdict.json()
    body = verdict.json()
    assert body["verdict"] in ("ok", "ng")
    assert body["models"][0]["model_version"] == job.model_version.pk
    assert 0 <= body["quality"]["view1"]["brightness"] <= 255
