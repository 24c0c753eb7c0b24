"""A corpus of hostile inputs, generated here, against every endpoint that takes data: each
gets a 4xx with a message, never a 5xx, and leaves no rows or files behind."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from annotation.models import Image, Label, LabelVersion
from inspection.models import InspectionRecord
from tests.conftest import make_image, png_bytes
from training.models import TrainingJob


def _jpeg(seed=0, size=(32, 32)) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(make_image(seed, size)).save(buf, format="JPEG")
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming huge dimensions: a decompression bomb's
    header, without the bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


BAD_IMAGES = {
    "truncated.jpg": _jpeg()[:200],
    "truncated.png": png_bytes(make_image(1))[:120],
    "empty.jpg": b"",
    "text-as.jpg": b"this is not an image at all\n" * 10,
    "page.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "page.html": b"<html><body><script>alert(1)</script></body></html>",
    "bomb.png": _png_header_only(100_000, 100_000),
    "exe.png": b"MZ\x90\x00" + b"\x00" * 200,
    "name\u202eexe.png": b"GIF89a" + b"\x00" * 20,
}


def _snapshot_state():
    media = settings.MEDIA_ROOT
    files = sorted(p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file())
    return (
        Image.objects.count(),
        Label.objects.count(),
        LabelVersion.objects.count(),
        TrainingJob.objects.count(),
        InspectionRecord.objects.count(),
        files,
    )


def _assert_refused(response, what):
    assert 400 <= response.status_code < 500, (what, response.status_code, response.content[:300])
    body = response.json()
    assert body.get("detail"), (what, body)


@pytest.mark.django_db
def test_bad_image_uploads_are_refused_each_with_a_reason_and_nothing_is_kept(
    project, owner, client_for
):
    client = client_for(owner)
    before = _snapshot_state()
    for name, data in BAD_IMAGES.items():
        response = client.post(
            f"/api/projects/{project.pk}/images/",
            {"files": [SimpleUploadedFile(name, data)]},
            format="multipart",
        )
        _assert_refused(response, name)
    assert _snapshot_state() == before


@pytest.mark.django_db
def test_bad_masks_are_refused_and_the_label_keeps_its_versions(project, owner, client_for):
    client = client_for(owner)
    image_response = client.post(
        f"/api/projects/{project.pk}/images/",
        {"files": [SimpleUploadedFile("ok.png", png_bytes(make_image(3)))]},
        format="multipart",
    )
    assert image_response.status_code == 201, image_response.json()
    image = Image.objects.get(project=project)
    before = _snapshot_state()
    wrong_size = png_bytes(np.zeros((10, 10), np.uint8))
    cases = {
        "wrong size": {"kind": "mask", "mask": SimpleUploadedFile("m.png", wrong_size)},
        "jpeg mask": {"kind": "mask", "mask": SimpleUploadedFile("m.jpg", _jpeg(size=(64, 64)))},
        "truncated": {"kind": "mask", "mask": SimpleUploadedFile("m.png", wrong_size[:60])},
        "no mask": {"kind": "mask"},
        "unknown kind": {"kind": "maybe"},
        "bad base": {"kind": "negative", "base_version": "-3"},
        "huge base": {"kind": "negative", "base_version": str(10**30)},
        "nan base": {"kind": "negative", "base_version": "NaN"},
    }
    for what, data in cases.items():
        response = client.post(f"/api/images/{image.pk}/labels/", data, format="multipart")
        _assert_refused(response, what)
    assert _snapshot_state() == before


@pytest.mark.django_db
def test_hostile_job_parameters_are_refused_before_any_worker_time(
    labelled_project, owner, client_for
):
    client = client_for(owner)
    url = f"/api/projects/{labelled_project.pk}/jobs/"
    cases = [
        {"epochs": -1},
        {"epochs": 10**12},
        {"lr": 0},
        {"lr": "NaN"},
        {"lr": "Infinity"},
        {"input_size": [250, 256]},
        {"input_size": [256]},
        {"input_size": "256x256"},
        {"batch_size": 0},
        {"loss": "\u0000bce"},
        {"val_fraction": 2},
        {"snapshot_from": 10**9},
        {"precision": "fp8"},
    ]
    before = _snapshot_state()
    for params in cases:
        response = client.post(url, params, format="json")
        _assert_refused(response, params)
    assert _snapshot_state() == before


@pytest.mark.django_db
def test_malformed_and_deeply_nested_json_gets_a_clear_400(labelled_project, owner, client_for):
    client = client_for(owner)
    url = f"/api/projects/{labelled_project.pk}/jobs/"
    nested = "[" * 100_000 + "]" * 100_000
    for body in ('{"epochs": 3', "\xff\xfe", nested, json.dumps({"epochs": [[[[1]]]]})):
        response = client.generic(
            "POST", url, body.encode("utf-8", "surrogatepass"), "application/json"
        )
        _assert_refused(response, body[:20])


@pytest.mark.django_db
def test_hostile_archives_import_nothing_bad(project, owner, client_for):
    def archive(entries):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in entries.items():
                zf.writestr(name, data)
        return buf.getvalue()

    client = client_for(owner)
    before = _snapshot_state()
    cases = {
        "garbage": b"PK\x03\x04 not really a zip",
        "only bad": archive({"../escape.png": png_bytes(make_image(1)), "a.jpg": b"nope"}),
        "bad json": archive({"coco.json": b'{"images": [{"id": 1}], "annotations": []}'}),
    }
    for what, data in cases.items():
        response = client.post(
            f"/api/projects/{project.pk}/imports/",
            {"archive": SimpleUploadedFile("x.zip", data)},
            format="multipart",
        )
        _assert_refused(response, what)
    assert _snapshot_state() == before


@pytest.mark.django_db
def test_hostile_inspect_requests_are_refused(trained_model, owner, client_for):
    client = client_for(owner)
    project = trained_model.project
    before = _snapshot_state()
    cases = {
        "no images": {"project": project.pk},
        "bad image": {"project": project.pk, "images": [SimpleUploadedFile("x.jpg", b"nope")]},
        "bomb": {
            "project": project.pk,
            "images": [SimpleUploadedFile("b.png", BAD_IMAGES["bomb.png"])],
        },
        "project nan": {
            "project": "NaN",
            "images": [SimpleUploadedFile("a.png", png_bytes(make_image(2)))],
        },
        "long serial": {
            "project": project.pk,
            "serial": "x" * 10_000,
            "images": [SimpleUploadedFile("a.png", png_bytes(make_image(2)))],
        },
    }
    for what, data in cases.items():
        response = client.post("/api/inspect/", data, format="multipart")
        _assert_refused(response, what)
    assert _snapshot_state() == before


@pytest.mark.django_db
def test_unicode_and_control_characters_in_names_are_stored_safely(project, owner, client_for):
    client = client_for(owner)
    name = "défaut\u202e\u0000\n<script>.png"
    response = client.post(
        f"/api/projects/{project.pk}/images/",
        {"files": [SimpleUploadedFile(name, png_bytes(make_image(4)))]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    image = Image.objects.get(project=project)
    assert "\x00" not in image.source_name and "\n" not in image.source_name
    assert ".." not in image.file.name and "<" not in image.file.name
