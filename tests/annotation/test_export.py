"""Export: COCO (exact RLE), VIA (polygon outlines) and mask PNGs, each read back by import."""

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image as PILImage

from annotation.formats import export, regions
from annotation.importing import import_zip
from annotation.models import Image, LabelVersion
from annotation.services import add_image, save_label
from tests.conftest import make_image, png_bytes


def _mask(seed, shape=(48, 64)):
    """A blob with a hole and a lone pixel: the cases that break naive exporters."""
    mask = np.zeros(shape, np.uint8)
    mask[5:30, 10:40] = 255
    mask[12:20, 20:28] = 0  # hole
    mask[40, 60 - seed] = 255  # a single pixel
    return mask


@pytest.fixture
def labelled(project, owner):
    masks = {}
    for seed in range(3):
        image, _ = add_image(project, png_bytes(make_image(seed, (48, 64))), f"p{seed}.png", owner)
        masks[image.pk] = _mask(seed)
        save_label(image, owner, "mask", png_bytes(masks[image.pk]), False, None)
    clean, _ = add_image(project, png_bytes(make_image(9, (48, 64))), "clean.png", owner)
    save_label(clean, owner, "negative", None, False, None)
    unsure, _ = add_image(project, png_bytes(make_image(10, (48, 64))), "unsure.png", owner)
    save_label(unsure, owner, "unsure", None, False, None)
    return masks


def _download(client, project, fmt):
    response = client.get(f"/api/projects/{project.pk}/export/?format={fmt}")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/zip"
    assert f"{project.slug}-{fmt}.zip" in response["Content-Disposition"]
    return b"".join(response.streaming_content)


def _reimport(data, other_project, owner):
    report = import_zip(other_project, owner, data)
    assert report.errors == []
    masks, negatives = {}, 0
    for image in Image.objects.filter(project=other_project):
        version = image.labels.get().current_version
        if version.kind == LabelVersion.Kind.NEGATIVE:
            negatives += 1
        else:
            masks[image.sha256] = np.asarray(PILImage.open(version.mask.path))
    return masks, negatives


def _by_hash(project, masks):
    return {Image.objects.get(pk=pk).sha256: m for pk, m in masks.items()}


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["coco", "masks"])
def test_coco_and_mask_exports_round_trip_exactly(
    fmt, labelled, project, other_project, owner, client_for
):
    data = _download(client_for(owner), project, fmt)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert sum(n.startswith("images/") for n in names) == 4  # the unsure image stays out
    masks, negatives = _reimport(data, other_project, owner)
    assert negatives == 1
    expected = _by_hash(project, labelled)
    assert set(masks) == set(expected)
    for key, mask in expected.items():
        assert np.array_equal(masks[key], mask)


@pytest.mark.django_db
def test_the_coco_file_is_standard_rle_that_pycocotools_reads(labelled, project, owner, client_for):
    from pycocotools import mask as coco_mask

    data = _download(client_for(owner), project, "coco")
    doc = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("annotations/instances.json"))
    assert doc["categories"] == [{"id": 1, "name": project.name, "supercategory": "defect"}]
    assert len(doc["images"]) == 4 and len(doc["annotations"]) == 3
    stored = {
        image.sha256: np.asarray(PILImage.open(image.labels.get().current_version.mask.path))
        for image in Image.objects.filter(project=project, pk__in=list(labelled))
    }
    files = zipfile.ZipFile(io.BytesIO(data))
    decoded_by_hash = {}
    for ann in doc["annotations"]:
        assert isinstance(ann["segmentation"]["counts"], str) and ann["iscrowd"] == 1
        rle = {"size": ann["segmentation"]["size"], "counts": ann["segmentation"]["counts"]}
        decoded = coco_mask.decode(rle)
        assert int(decoded.sum()) == ann["area"]
        (entry,) = [i for i in doc["images"] if i["id"] == ann["image_id"]]
        sha256 = hashlib.sha256(files.read(entry["file_name"])).hexdigest()
        decoded_by_hash[sha256] = decoded
    # Pixel for pixel: the decoded RLE is the stored binary mask, hole and lone pixel included.
    assert set(decoded_by_hash) == set(stored)
    for sha256, mask in stored.items():
        assert decoded_by_hash[sha256].shape == mask.shape
        assert np.array_equal(decoded_by_hash[sha256], (mask >= 128).astype(np.uint8))


@pytest.mark.django_db
def test_via_export_traces_outlines_and_keeps_lone_pixels(
    labelled, project, other_project, owner, client_for
):
    data = _download(client_for(owner), project, "via")
    masks, negatives = _reimport(data, other_project, owner)
    assert negatives == 1
    for key, mask in _by_hash(project, labelled).items():
        got = masks[key] >= 128
        truth = mask >= 128
        outline = truth.copy()
        outline[12:20, 20:28] = True  # polygons cannot hold holes: the hole comes back filled
        assert np.array_equal(got, outline)


def test_via_polygons_read_back_through_the_region_parser():
    mask = np.zeros((20, 20), np.uint8)
    mask[3:9, 4:15] = 255
    doc = export.via_document([export.Entry("a.png", 20, 20, mask)])
    (annotated,) = regions.parse(export.to_json(doc))
    assert np.array_equal(regions.rasterise(annotated.regions, 20, 20), mask)


@pytest.mark.django_db
def test_an_unknown_format_or_an_empty_project_is_a_clear_400(project, owner, client_for):
    client = client_for(owner)
    response = client.get(f"/api/projects/{project.pk}/export/?format=yolo")
    assert response.status_code == 400 and "coco" in response.json()["detail"]
    response = client.get(f"/api/projects/{project.pk}/export/?format=coco")
    assert response.status_code == 400 and "no labels" in response.json()["detail"]


@pytest.mark.django_db
def test_the_masks_export_has_a_manifest_and_the_command_writes_the_same(
    labelled, project, owner, tmp_path, client_for
):
    from django.core.management import call_command

    call_command("export_dataset", project.slug, str(tmp_path / "out.zip"))
    archive = zipfile.ZipFile(tmp_path / "out.zip")
    manifest = json.loads(archive.read("manifest.json"))
    kinds = sorted(item["kind"] for item in manifest["items"])
    assert kinds == ["mask", "mask", "mask", "negative"]
    for item in manifest["items"]:
        assert item["mask"] in archive.namelist() and item["image"] in archive.namelist()
        assert item["author"] == "owner" and len(item["sha256"]) == 64
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.django_db
def test_the_masks_export_holds_soft_and_binary_pngs_and_reimports_the_soft_one(
    project, other_project, owner, client_for
):
    soft = np.zeros((48, 64), np.uint8)
    soft[5:20, 5:30] = 200
    soft[25:40, 10:50] = 100  # below the threshold: a doubt, not a defect
    soft[30, 30] = 128  # exactly the threshold counts as defect
    image, _ = add_image(project, png_bytes(make_image(1, (48, 64))), "soft.png", owner)
    save_label(image, owner, "mask", png_bytes(soft), True, None)
    hard, _ = add_image(project, png_bytes(make_image(2, (48, 64))), "hard.png", owner)
    save_label(hard, owner, "mask", png_bytes(_mask(0)), False, None)

    data = _download(client_for(owner), project, "masks")
    archive = zipfile.ZipFile(io.BytesIO(data))
    items = {i["source_name"]: i for i in json.loads(archive.read("manifest.json"))["items"]}

    def png(name):
        return np.asarray(PILImage.open(io.BytesIO(archive.read(name))))

    soft_item = items["soft.png"]
    assert soft_item["soft"] and soft_item["binary_mask"] != soft_item["mask"]
    assert np.array_equal(png(soft_item["mask"]), soft)
    assert np.array_equal(png(soft_item["binary_mask"]), np.where(soft >= 128, 255, 0))
    hard_item = items["hard.png"]
    assert not hard_item["soft"] and hard_item["binary_mask"] == hard_item["mask"]
    assert np.array_equal(png(hard_item["binary_mask"]), _mask(0))

    # Read back, the soft PNG is the label; the binary copy pairs with no image.
    report = import_zip(other_project, owner, data, mask_mode="soft")
    assert report.errors == [] and report.images == 2
    assert soft_item["binary_mask"] in report.ignored
    again = Image.objects.get(project=other_project, sha256=image.sha256)
    version = again.labels.get().current_version
    assert version.is_soft and np.array_equal(np.asarray(PILImage.open(version.mask.path)), soft)
