"""Per-image metadata: the source name always, and the camera and capture time from EXIF
whenever the file carries them, on every way images come in."""

import io
import json

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image as PILImage
from pycocotools import mask as coco_mask

from annotation.exif import capture_time
from annotation.importing import import_zip
from annotation.models import Image
from tests.conftest import make_image, png_bytes, zip_bytes

CAMERA = {"camera": "Basler acA2440-20gm", "captured_at": "2024-05-01T13:45:10"}


def _jpeg(seed: int, exif: bool = True, size=(48, 64)) -> bytes:
    tags = PILImage.Exif()
    if exif:
        tags[0x010F] = "Basler"  # Make
        tags[0x0110] = "acA2440-20gm"  # Model
        tags.get_ifd(0x8769)[0x9003] = "2024:05:01 13:45:10"  # DateTimeOriginal
    buf = io.BytesIO()
    PILImage.fromarray(make_image(seed, size)).save(buf, format="JPEG", exif=tags)
    return buf.getvalue()


def _metadata(project, source_name) -> dict:
    return Image.objects.get(project=project, source_name=source_name).metadata


def test_an_upload_keeps_its_camera_capture_time_and_name(client_for, owner, project):
    response = client_for(owner).post(
        f"/api/projects/{project.pk}/images/",
        {
            "files": [
                SimpleUploadedFile("line1.jpg", _jpeg(1), "image/jpeg"),
                SimpleUploadedFile("plain.jpg", _jpeg(2, exif=False), "image/jpeg"),
            ]
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    by_name = {c["source_name"]: c["metadata"] for c in response.json()["created"]}
    assert by_name["line1.jpg"] == {"source": "line1.jpg", **CAMERA}
    # Without EXIF nothing is guessed: no camera, no capture time.
    assert by_name["plain.jpg"] == {"source": "plain.jpg"}


@pytest.mark.django_db
def test_zip_via_and_coco_imports_keep_the_exif_of_each_image(project, owner):
    truth = np.zeros((48, 64), np.uint8)
    truth[5:10, 5:10] = 1
    rle = coco_mask.encode(np.asfortranarray(truth))
    rle["counts"] = rle["counts"].decode()
    coco = {
        "images": [{"id": 1, "file_name": "coco.jpg"}],
        "annotations": [{"image_id": 1, "category_id": 1, "segmentation": rle}],
        "categories": [{"id": 1, "name": "crack"}],
    }
    via = {"_via_img_metadata": {"v": {"filename": "via.jpg", "size": 1, "regions": []}}}
    archive = zip_bytes(
        {
            "pairs/Imgs/paired.jpg": _jpeg(1),
            "pairs/Imgs/paired.png": png_bytes(truth * 255),
            "pairs/Imgs/plain.jpg": _jpeg(2, exif=False),
            "c/instances.json": json.dumps(coco).encode(),
            "c/coco.jpg": _jpeg(3),
            "v/via.json": json.dumps(via).encode(),
            "v/via.jpg": _jpeg(4),
        }
    )
    report = import_zip(project, owner, archive)
    assert report.errors == [] and report.images == 4
    for name in ("pairs/Imgs/paired.jpg", "c/coco.jpg", "v/via.jpg"):
        assert _metadata(project, name) == {"source": name, **CAMERA}
    assert _metadata(project, "pairs/Imgs/plain.jpg") == {"source": "pairs/Imgs/plain.jpg"}


@pytest.mark.django_db
def test_the_import_command_keeps_exif_from_a_folder(project, owner, tmp_path):
    folder = tmp_path / "Blowhole" / "Imgs"
    folder.mkdir(parents=True)
    (folder / "a.jpg").write_bytes(_jpeg(1))
    (folder / "b.jpg").write_bytes(_jpeg(2, exif=False))
    call_command("import_dataset", project.slug, str(tmp_path), user=owner.username)
    assert _metadata(project, "Blowhole/Imgs/a.jpg") == {"source": "Blowhole/Imgs/a.jpg", **CAMERA}
    assert "camera" not in _metadata(project, "Blowhole/Imgs/b.jpg")
    assert "captured_at" not in _metadata(project, "Blowhole/Imgs/b.jpg")


def test_capture_times_read_as_iso_8601_and_blank_ones_are_dropped():
    assert capture_time("2024:05:01 13:45:10", "+02:00") == "2024-05-01T13:45:10+02:00"
    assert capture_time("2024:05:01 13:45:10\x00") == "2024-05-01T13:45:10"
    assert capture_time("0000:00:00 00:00:00") is None
    assert capture_time("    ") is None and capture_time(None) is None
