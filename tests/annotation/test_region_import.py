"""COCO and VIA annotation files: regions rasterised into binary labels, one category per
project, images listed without regions as negatives, bad entries reported one by one."""

import json

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage
from pycocotools import mask as coco_mask

from annotation.formats import regions
from annotation.importing import import_zip
from annotation.models import Image, LabelVersion
from tests.conftest import make_image, png_bytes, zip_bytes


def _via(entries):
    return {"_via_settings": {}, "_via_img_metadata": entries}


def _entry(name, *shapes):
    return {
        "filename": name,
        "size": 123,
        "regions": [{"shape_attributes": s, "region_attributes": {}} for s in shapes],
    }


def test_via_shapes_are_rasterised_where_they_were_drawn():
    doc = _via(
        {
            "a": _entry(
                "a.png",
                {"name": "rect", "x": 5, "y": 40, "width": 10, "height": 4},
                {"name": "circle", "cx": 50, "cy": 20, "r": 5},
                {"name": "ellipse", "cx": 80, "cy": 50, "rx": 10, "ry": 3, "theta": 0},
                {"name": "point", "cx": 1, "cy": 1},
            )
        }
    )
    (annotated,) = regions.parse(json.dumps(doc).encode())
    mask = regions.rasterise(annotated.regions, 64, 100)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    assert (mask[40:44, 5:15] == 255).all() and mask[39, 5] == 0 and mask[44, 5] == 0
    assert mask[40, 4] == 0 and mask[40, 15] == 0  # the rect is exactly 10x4
    circle = mask[10:31, 40:61] == 255
    assert 70 <= circle.sum() <= 95 and circle[10, 10]  # about pi * 5^2, centred
    ys, xs = np.nonzero(mask[40:61, 65:96])
    assert xs.max() - xs.min() == 20 and ys.max() - ys.min() == 6  # 2rx wide, 2ry tall
    assert mask[1, 1] == 0  # points mark, they do not paint


def test_via_polygons_fill_and_polylines_trace_a_thin_line():
    doc = _via(
        {
            "a": _entry(
                "a.png",
                {
                    "name": "polygon",
                    "all_points_x": [10, 30, 30, 10],
                    "all_points_y": [10, 10, 30, 30],
                },
                {"name": "polyline", "all_points_x": [50, 90], "all_points_y": [5, 5]},
            )
        }
    )
    mask = regions.rasterise(regions.parse(json.dumps(doc).encode())[0].regions, 40, 100)
    assert (mask[11:30, 11:30] == 255).all()
    assert mask[10:31, 10:31].sum() // 255 == 21 * 21  # boundary pixels included
    line = mask[:, 50:91] == 255
    assert line[5].all() and line.sum(axis=0).max() == regions.POLYLINE_WIDTH


def test_unknown_via_shapes_and_bad_points_are_refused_with_the_file_named():
    bad = _via({"a": _entry("broken.png", {"name": "hexagon"})})
    with pytest.raises(regions.RegionsRejected, match="hexagon.*broken.png"):
        regions.parse(json.dumps(bad).encode())
    bad = _via({"a": _entry("b.png", {"name": "polygon", "all_points_x": [1], "all_points_y": []})})
    with pytest.raises(regions.RegionsRejected, match="bad points"):
        regions.parse(json.dumps(bad).encode())


def _coco(images, annotations, categories=({"id": 1, "name": "crack"},)):
    return {"images": images, "annotations": annotations, "categories": list(categories)}


def test_coco_rle_is_read_in_column_major_order_as_the_format_defines():
    # A 3x4 image with one defect pixel at row 1, column 1: column-major runs are 4 zeros
    # (column 0 and the top of column 1), one 1, then 7 zeros.
    doc = _coco(
        [{"id": 7, "file_name": "a.png", "width": 4, "height": 3}],
        [{"image_id": 7, "category_id": 1, "segmentation": {"size": [3, 4], "counts": [4, 1, 7]}}],
    )
    (annotated,) = regions.parse(json.dumps(doc).encode())
    mask = regions.rasterise(annotated.regions, 3, 4)
    assert np.argwhere(mask == 255).tolist() == [[1, 1]]


def test_compressed_rle_round_trips_through_pycocotools():
    truth = np.zeros((20, 30), np.uint8)
    truth[3:9, 4:25] = 1
    truth[15, :] = 1
    rle = coco_mask.encode(np.asfortranarray(truth))
    rle["counts"] = rle["counts"].decode()
    doc = _coco(
        [{"id": 1, "file_name": "a.png"}],
        [{"image_id": 1, "category_id": 1, "segmentation": rle, "iscrowd": 1}],
    )
    mask = regions.rasterise(regions.parse(json.dumps(doc).encode())[0].regions, 20, 30)
    assert np.array_equal(mask, truth * 255)
    with pytest.raises(regions.RegionsRejected, match="30x20 but the image is 31x20"):
        regions.rasterise(regions.parse(json.dumps(doc).encode())[0].regions, 20, 31)


def test_a_file_with_several_categories_needs_the_projects_one_named():
    doc = _coco(
        [{"id": 1, "file_name": "a.png"}],
        [
            {"image_id": 1, "category_id": 1, "segmentation": [[0, 0, 4, 0, 4, 4, 0, 4]]},
            {"image_id": 1, "category_id": 2, "segmentation": [[10, 10, 14, 10, 14, 14, 10, 14]]},
        ],
        categories=[{"id": 1, "name": "crack"}, {"id": 2, "name": "spot"}],
    )
    data = json.dumps(doc).encode()
    with pytest.raises(regions.RegionsRejected, match=r"several categories \['crack', 'spot'\]"):
        regions.parse(data)
    with pytest.raises(regions.RegionsRejected, match="'hole' is not in the file"):
        regions.parse(data, "hole")
    mask = regions.rasterise(regions.parse(data, "spot")[0].regions, 20, 20)
    assert mask[12, 12] == 255 and mask[2, 2] == 0


@pytest.mark.django_db
def test_a_coco_zip_imports_labels_negatives_and_reports_what_is_wrong(project, owner):
    truth = np.zeros((48, 64), np.uint8)
    truth[10:20, 30:50] = 1
    rle = coco_mask.encode(np.asfortranarray(truth))
    rle["counts"] = rle["counts"].decode()
    doc = _coco(
        [
            {"id": 1, "file_name": "a.png", "width": 64, "height": 48},
            {"id": 2, "file_name": "b.png", "width": 64, "height": 48},
            {"id": 3, "file_name": "clean.png", "width": 64, "height": 48},
            {"id": 4, "file_name": "gone.png", "width": 64, "height": 48},
            {"id": 5, "file_name": "wrong.png", "width": 64, "height": 48},
        ],
        [
            {"image_id": 1, "category_id": 1, "segmentation": [[5, 5, 25, 5, 25, 25, 5, 25]]},
            {"image_id": 2, "category_id": 1, "segmentation": rle},
            {"image_id": 5, "category_id": 1, "segmentation": {"size": [9, 9], "counts": [81]}},
        ],
    )
    archive = zip_bytes(
        {
            "set/annotations/instances.json": json.dumps(doc).encode(),
            "set/images/a.png": png_bytes(make_image(1, (48, 64))),
            "set/images/b.png": png_bytes(make_image(2, (48, 64))),
            "set/images/clean.png": png_bytes(make_image(3, (48, 64))),
            "set/images/wrong.png": png_bytes(make_image(4, (48, 64))),
        }
    )
    report = import_zip(project, owner, archive)
    assert report.images == 4 and report.labelled == 2 and report.negatives == 1
    reasons = {e["name"]: e["reason"] for e in report.errors}
    assert reasons["gone.png"] == "named in the annotation file, not found"
    assert "9x9 but the image is 64x48" in reasons["set/images/wrong.png"]

    def stored(name):
        image = Image.objects.get(project=project, source_name=f"set/images/{name}")
        return image.labels.get().current_version

    b = stored("b.png")
    assert b.kind == LabelVersion.Kind.MASK
    assert np.array_equal(np.asarray(PILImage.open(b.mask.path)), truth * 255)
    a = np.asarray(PILImage.open(stored("a.png").mask.path))
    assert a[15, 15] == 255 and a[30, 30] == 0
    assert stored("clean.png").kind == LabelVersion.Kind.NEGATIVE
    assert not Image.objects.get(source_name="set/images/wrong.png").labels.exists()


@pytest.mark.django_db
def test_the_import_api_takes_a_via_project_and_a_category_field(project, owner, client_for):
    doc = _via({"x": _entry("a.png", {"name": "rect", "x": 2, "y": 3, "width": 5, "height": 6})})
    archive = zip_bytes({"via.json": json.dumps(doc).encode(), "a.png": png_bytes(make_image(5))})
    response = client_for(owner).post(
        f"/api/projects/{project.pk}/imports/",
        {"archive": SimpleUploadedFile("via.zip", archive), "category": ""},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["labelled"] == 1
    version = Image.objects.get(project=project).labels.get().current_version
    assert np.asarray(PILImage.open(version.mask.path)).sum() // 255 == 30


def _rle_doc(counts, size=(3, 4)):
    segmentation = {"size": list(size), "counts": counts}
    return _coco(
        [{"id": 1, "file_name": "a.png"}],
        [{"image_id": 1, "category_id": 1, "segmentation": segmentation}],
    )


def _other_size_rle() -> str:
    return coco_mask.encode(np.asfortranarray(np.ones((5, 5), np.uint8)))["counts"].decode()


@pytest.mark.parametrize(
    ("counts", "reason"),
    [
        ([4, 1, 5], "runs cover 10 pixels, but a 4x3 image has 12"),
        ([4, 1, 8], "runs cover 13 pixels"),
        ([4, -1, 9], "negative run length"),
        ([4, 1.5, 6.5], "whole numbers"),
        (12, "a list of run lengths or a string"),
        ("not rle!", "'t' at position 2 is not compressed RLE text"),
        ("PP", "end in the middle of a number"),
        ("@", "negative run length"),
        (_other_size_rle(), "runs cover 25 pixels"),
    ],
    ids=["short", "long", "negative", "fractions", "number", "garbage", "cut", "sign", "other"],
)
def test_invalid_rle_is_refused_with_the_reason_instead_of_decoded(counts, reason):
    (annotated,) = regions.parse(json.dumps(_rle_doc(counts)).encode())
    with pytest.raises(regions.RegionsRejected, match=f"invalid RLE: .*{reason}"):
        regions.rasterise(annotated.regions, 3, 4)


def test_valid_compressed_rle_decodes_to_pycocotools_runs():
    rng = np.random.default_rng(0)
    for _ in range(20):
        truth = (rng.random((13, 17)) < rng.random()).astype(np.uint8)
        counts = coco_mask.encode(np.asfortranarray(truth))["counts"].decode()
        runs = regions.rle_counts(counts)
        column_major = np.repeat(np.arange(len(runs)) % 2, runs).reshape(17, 13).T
        assert np.array_equal(column_major, truth)


@pytest.mark.django_db
def test_a_coco_zip_with_broken_rle_imports_the_rest_and_names_the_bad_item(project, owner):
    truth = np.zeros((48, 64), np.uint8)
    truth[10:20, 30:50] = 1
    good = coco_mask.encode(np.asfortranarray(truth))
    good["counts"] = good["counts"].decode()
    doc = _coco(
        [{"id": 1, "file_name": "good.png"}, {"id": 2, "file_name": "bad.png"}],
        [
            {"image_id": 1, "category_id": 1, "segmentation": good},
            {
                "image_id": 2,
                "category_id": 1,
                "segmentation": {"size": [48, 64], "counts": "garbage !"},
            },
        ],
    )
    archive = zip_bytes(
        {
            "coco.json": json.dumps(doc).encode(),
            "good.png": png_bytes(make_image(1, (48, 64))),
            "bad.png": png_bytes(make_image(2, (48, 64))),
        }
    )
    report = import_zip(project, owner, archive)
    assert report.labelled == 1
    ((name, reason),) = [(e["name"], e["reason"]) for e in report.errors]
    assert name == "bad.png" and reason.startswith("invalid RLE:")
    good_label = Image.objects.get(source_name="good.png").labels.get().current_version
    assert np.array_equal(np.asarray(PILImage.open(good_label.mask.path)), truth * 255)
    assert not Image.objects.get(source_name="bad.png").labels.exists()


@pytest.mark.django_db
def test_a_via_project_naming_a_missing_image_reports_it_and_imports_the_rest(project, owner):
    rect = {"name": "rect", "x": 2, "y": 3, "width": 5, "height": 6}
    doc = _via(
        {
            "a": _entry("a.png", rect),
            "g": _entry("gone.png", rect),
            "c": _entry("clean.png"),
        }
    )
    archive = zip_bytes(
        {
            "via.json": json.dumps(doc).encode(),
            "a.png": png_bytes(make_image(1)),
            "clean.png": png_bytes(make_image(2)),
        }
    )
    report = import_zip(project, owner, archive)
    assert report.errors == [
        {"name": "gone.png", "reason": "named in the annotation file, not found"}
    ]
    assert (report.images, report.labelled, report.negatives) == (2, 1, 1)
    version = Image.objects.get(source_name="a.png").labels.get().current_version
    assert np.asarray(PILImage.open(version.mask.path)).sum() // 255 == 30
