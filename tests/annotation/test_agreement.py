"""Agreement between annotators and consensus soft labels, on masks with known answers."""

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from annotation import agreement
from annotation.services import add_image, save_label
from tests.conftest import make_image, png_bytes


def _square(left, size=(20, 30)):
    mask = np.zeros(size, np.uint8)
    mask[0:10, left : left + 10] = 255
    return mask


def test_iou_and_dice_of_shifted_squares():
    # 10x10 squares 5 pixels apart: 50 shared pixels, 150 in the union.
    iou, dice = agreement.iou_and_dice(_square(0), _square(5))
    assert iou == pytest.approx(1 / 3) and dice == pytest.approx(0.5)
    assert agreement.iou_and_dice(np.zeros((4, 4)), np.zeros((4, 4))) == (1.0, 1.0)
    assert agreement.iou_and_dice(_square(0), np.zeros((20, 30), np.uint8)) == (0.0, 0.0)


def test_pixel_kappa_matches_the_hand_computed_value():
    # 10 pixels: A paints 4, B paints 2 of those. Observed 0.8; chance 0.4*0.2 + 0.6*0.8 = 0.56.
    a = np.array([[255] * 4 + [0] * 6], np.uint8)
    b = np.array([[255] * 2 + [0] * 8], np.uint8)
    counts = agreement.pair_counts(a, b)
    assert counts.tolist() == [2, 2, 0, 6]
    assert agreement.cohen_kappa(counts) == pytest.approx((0.8 - 0.56) / (1 - 0.56))
    assert agreement.cohen_kappa(agreement.pair_counts(a, a)) == pytest.approx(1.0)
    assert agreement.cohen_kappa(np.array([0, 0, 0, 10])) is None  # nothing to agree about


def test_consensus_is_the_share_of_annotators_and_the_heat_map_peaks_at_an_even_split():
    masks = [_square(0), _square(0), _square(5)]
    soft = agreement.consensus(masks)
    assert soft[0, 0] == 170 and soft[0, 7] == 255 and soft[0, 12] == 85 and soft[15, 0] == 0
    heat = agreement.disagreement_map([_square(0), _square(5)])
    assert heat[0, 0] == 255 and heat[0, 7] == 0 and heat[15, 0] == 0


def test_the_summary_ranks_images_and_annotators():
    images = {
        1: {"ann": _square(0), "bob": _square(0), "cy": _square(5)},
        2: {"ann": _square(0), "bob": _square(20)},
        3: {"ann": _square(0)},  # one annotator: left out
    }
    summary = agreement.summarise(images)
    assert summary["images"] == 2
    assert [row["image"] for row in summary["per_image"]] == [2, 1]  # least agreement first
    image1 = next(r for r in summary["per_image"] if r["image"] == 1)
    assert image1["mean_iou"] == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)
    assert summary["annotators"]["cy"]["mean_iou_with_others"] == pytest.approx(1 / 3)
    assert summary["annotators"]["ann"]["images"] == 3  # two pairs on image 1, one on image 2
    assert summary["annotators"]["cy"]["mean_iou_with_accepted"] is None


def test_annotators_are_compared_with_accepted_labels():
    images = {
        1: {"ann": _square(0), "bob": _square(5)},
        2: {"ann": _square(0), "bob": _square(0)},
    }
    # bob's label on image 1 and ann's on image 2 were accepted.
    accepted = {1: ("bob", _square(5)), 2: ("ann", _square(0))}
    people = agreement.summarise(images, accepted)["annotators"]
    assert people["ann"]["accepted_compared"] == 1  # their own acceptance does not count
    assert people["ann"]["mean_iou_with_accepted"] == pytest.approx(1 / 3)
    assert people["bob"]["mean_iou_with_accepted"] == pytest.approx(1.0)


@pytest.mark.django_db
def test_the_api_reports_agreement_and_serves_the_heat_map(project, owner, make_user, client_for):
    second = make_user("second", "annotator", project)
    image, _ = add_image(project, png_bytes(make_image(1, (20, 30))), "a.png", owner)
    save_label(image, owner, "mask", png_bytes(_square(0)), False, None)
    save_label(image, second, "mask", png_bytes(_square(5)), False, None)
    client = client_for(owner)
    body = client.get(f"/api/images/{image.pk}/agreement/").json()
    assert body["annotators"] == ["owner", "second"]
    assert body["pairs"][0]["iou"] == pytest.approx(1 / 3)
    assert body["disputed_share"] == pytest.approx(100 / 600)
    project_view = client.get(f"/api/projects/{project.pk}/agreement/").json()
    assert project_view["images"] == 1 and project_view["pixel_kappa"] < 1
    heat = client.get(f"/api/images/{image.pk}/disagreement/")
    assert heat["Content-Type"] == "image/png"
    pixels = np.asarray(PILImage.open(io.BytesIO(heat.content)))
    assert pixels[0, 0] == 255 and pixels[0, 7] == 0


def test_the_histogram_counts_every_compared_image_in_iou_bands():
    # 150 images: 120 agree fully, 20 not at all, 10 at IoU 1/3; one annotator alone is left out.
    images = {i: {"ann": _square(0), "bob": _square(0)} for i in range(120)}
    images |= {i: {"ann": _square(0), "bob": _square(20)} for i in range(120, 140)}
    images |= {i: {"ann": _square(0), "bob": _square(5)} for i in range(140, 150)}
    images[150] = {"ann": _square(0)}
    histogram = agreement.summarise(images)["iou_histogram"]
    assert histogram["edges"] == pytest.approx([i / 10 for i in range(11)])
    assert histogram["counts"] == [20, 0, 0, 10, 0, 0, 0, 0, 0, 120]
    assert agreement.iou_histogram([])["counts"] == [0] * 10


@pytest.mark.django_db
def test_the_api_histogram_counts_images_beyond_the_listed_hundred(
    project, owner, make_user, client_for
):
    second = make_user("second", "annotator", project)
    # 90 images agree fully and 11 not at all: the worst 100 listed hold only 89 of the first.
    for i in range(101):
        image, _ = add_image(project, png_bytes(make_image(i, (10, 20))), f"{i}.png", owner)
        save_label(image, owner, "mask", png_bytes(_square(0, (10, 20))), False, None)
        theirs = _square(0 if i < 90 else 10, (10, 20))
        save_label(image, second, "mask", png_bytes(theirs), False, None)
    body = client_for(owner).get(f"/api/projects/{project.pk}/agreement/").json()
    assert body["images"] == 101 and len(body["per_image"]) == 100
    assert body["iou_histogram"]["counts"] == [11, 0, 0, 0, 0, 0, 0, 0, 0, 90]
    assert sum(body["iou_histogram"]["counts"]) == body["images"]
