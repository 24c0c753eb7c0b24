"""Importing folders and zip archives: pairing, masks, and hostile archives."""

import io
import stat
import zipfile

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image as PILImage

from annotation.formats.pairing import pair, type_folders
from annotation.models import Image, LabelVersion
from tests.conftest import MAGNETIC_TILE, make_image, png_bytes, require_shared


def _jpeg(seed, size=(48, 64)) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(make_image(seed, size)).save(buf, format="JPEG")
    return buf.getvalue()


def test_pairing_finds_masks_beside_images_and_in_mask_folders():
    items, ignored = pair(
        [
            "T/Imgs/a.jpg",
            "T/Imgs/a.png",
            "T/Imgs/b.jpg",
            "x/images/c.png",
            "x/masks/c.png",
            "notes.txt",
        ]
    )
    assert [(i.image, i.mask) for i in items] == [
        ("T/Imgs/a.jpg", "T/Imgs/a.png"),
        ("T/Imgs/b.jpg", None),
        ("x/images/c.png", "x/masks/c.png"),
    ]
    assert ignored == ["notes.txt"]


def _zip(entries: dict[str, bytes], links=()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


def _post_zip(client, project, data, masks="binary"):
    return client.post(
        f"/api/projects/{project.pk}/imports/",
        {"archive": SimpleUploadedFile("d.zip", data, "application/zip"), "masks": masks},
        format="multipart",
    )


def test_a_zip_imports_images_and_masks_and_reports_unsafe_entries(client_for, owner, project):
    mask = np.zeros((48, 64), np.uint8)
    mask[5:15, 5:20] = 200
    empty = np.zeros((48, 64), np.uint8)
    data = _zip(
        {
            "set/Imgs/one.jpg": _jpeg(1),
            "set/Imgs/one.png": png_bytes(mask),
            "set/Imgs/two.jpg": _jpeg(2),
            "set/Imgs/two.png": png_bytes(empty),
            "set/Imgs/three.jpg": b"broken jpeg",
            "../evil.jpg": _jpeg(3),
            "/abs.jpg": _jpeg(4),
            "set/Imgs/wrong.jpg": _jpeg(5),
            "set/Imgs/wrong.png": png_bytes(np.zeros((5, 5), np.uint8)),
        },
        links=[("set/Imgs/link.jpg", "/etc/passwd")],
    )
    response = _post_zip(client_for(owner), project, data)
    assert response.status_code == 201, response.json()
    report = response.json()
    assert (report["images"], report["labelled"], report["negatives"]) == (3, 1, 1)
    reasons = {e["name"]: e["reason"] for e in report["errors"]}
    assert "'..'" in reasons["../evil.jpg"] and "absolute" in reasons["/abs.jpg"]
    assert "symbolic link" in reasons["set/Imgs/link.jpg"]
    assert "set/Imgs/three.jpg" in reasons and "5x5" in reasons["set/Imgs/wrong.png"]
    stored = LabelVersion.objects.get(kind="mask")
    assert np.array_equal(
        np.asarray(PILImage.open(stored.mask.path)), np.where(mask >= 128, 255, 0)
    )


def test_soft_mode_keeps_mask_values(client_for, owner, project):
    mask = np.full((48, 64), 100, np.uint8)
    data = _zip({"a.jpg": _jpeg(1), "a.png": png_bytes(mask)})
    assert _post_zip(client_for(owner), project, data, masks="soft").status_code == 201
    version = LabelVersion.objects.get()
    assert version.is_soft and (np.asarray(PILImage.open(version.mask.path)) == 100).all()


def test_zip_bombs_and_garbage_are_refused_without_leftovers(client_for, owner, project, settings):
    bomb = _zip({"zeros.png": b"\0" * 20_000_000})
    response = _post_zip(client_for(owner), project, bomb)
    assert response.status_code == 400 and "zip bomb" in response.json()["detail"]
    garbage = _post_zip(client_for(owner), project, b"not a zip at all")
    assert garbage.status_code == 400 and "zip" in garbage.json()["errors"]["archive"][0]
    assert not Image.objects.exists()
    folder = settings.MEDIA_ROOT / f"projects/{project.pk}/images"
    assert not folder.exists() or not any(folder.iterdir())


def test_reimporting_the_same_archive_adds_nothing(client_for, owner, project):
    data = _zip({"a.jpg": _jpeg(1), "a.png": png_bytes(np.full((48, 64), 255, np.uint8))})
    _post_zip(client_for(owner), project, data)
    again = _post_zip(client_for(owner), project, data).json()
    assert (again["created"], again["duplicates"], again["labelled"]) == (0, 1, 0)
    assert LabelVersion.objects.count() == 1


def test_the_import_command_takes_a_zip(owner, project, tmp_path):
    mask = np.zeros((48, 64), np.uint8)
    mask[5:15, 5:20] = 200
    archive = tmp_path / "set.zip"
    archive.write_bytes(
        _zip(
            {
                "T/Imgs/one.jpg": _jpeg(1),
                "T/Imgs/one.png": png_bytes(mask),
                "T/Imgs/two.jpg": _jpeg(2),
                "T/Imgs/two.png": png_bytes(np.zeros((48, 64), np.uint8)),
                "T/Imgs/bad.jpg": b"not a jpeg",
            }
        )
    )
    out = io.StringIO()
    call_command(
        "import_dataset",
        project.slug,
        str(archive),
        "--masks",
        "soft",
        user=owner.username,
        stdout=out,
    )
    assert project.images.count() == 2
    versions = LabelVersion.objects.filter(label__image__project=project)
    assert sorted(versions.values_list("kind", flat=True)) == ["mask", "negative"]
    soft = versions.get(kind="mask")
    assert soft.is_soft and np.array_equal(np.asarray(PILImage.open(soft.mask.path)), mask)
    assert "skipped T/Imgs/bad.jpg" in out.getvalue()
    assert "1 masks, 1 negatives, masks read as soft" in out.getvalue()


# Whatever <Type>/Imgs folders the dataset holds; one placeholder when it is absent, so that
# the test runs and says so (require_shared) instead of vanishing from the run.
DATASET_TYPES = [f.name for f in type_folders(MAGNETIC_TILE)] or ["(no dataset)"]


@pytest.mark.realdata
@pytest.mark.parametrize("folder", DATASET_TYPES)
def test_the_magnetic_tile_folders_import_exactly(folder, owner, project):
    source = require_shared(MAGNETIC_TILE) / folder
    assert (source / "Imgs").is_dir(), f"{MAGNETIC_TILE} holds no <Type>/Imgs folder"
    call_command("import_dataset", project.slug, str(source), user=owner.username)
    jpgs = sorted((source / "Imgs").glob("*.jpg"))
    masks = [np.asarray(PILImage.open(j.with_suffix(".png")).convert("L")) for j in jpgs]
    assert project.images.count() == len(jpgs)
    versions = LabelVersion.objects.filter(label__image__project=project)
    positives = sum(int((m >= 128).any()) for m in masks)
    assert versions.filter(kind="mask").count() == positives
    assert versions.filter(kind="negative").count() == len(jpgs) - positives
    by_name = {
        v.label.image.source_name.split("/")[-1]: v for v in versions.select_related("label__image")
    }
    for jpg, mask in zip(jpgs, masks, strict=True):
        version = by_name[jpg.name]
        if version.kind == "mask":
            stored = np.asarray(PILImage.open(version.mask.path))
            assert np.array_equal(stored, np.where(mask >= 128, 255, 0)), jpg.name
