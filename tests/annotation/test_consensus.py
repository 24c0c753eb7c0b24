"""Training labels: one annotator's label, or the soft consensus of several."""

import numpy as np
import pytest
from PIL import Image as PILImage

from annotation.agreement import consensus
from annotation.models import LabelVersion
from annotation.services import CONSENSUS_USER, add_image, save_label, training_labels
from tests.conftest import make_image, png_bytes


def _square(left):
    mask = np.zeros((20, 30), np.uint8)
    mask[0:10, left : left + 10] = 255
    return mask


@pytest.fixture
def image(project, owner):
    image, _ = add_image(project, png_bytes(make_image(1, (20, 30))), "a.png", owner)
    return image


@pytest.mark.django_db
def test_one_annotator_trains_as_labelled(project, owner, image):
    version = save_label(image, owner, "mask", png_bytes(_square(0)), False, None)
    assert training_labels(project) == {image.pk: version}


@pytest.mark.django_db
def test_several_annotators_train_on_their_soft_consensus(project, owner, make_user, image):
    second = make_user("second", "annotator", project)
    third = make_user("third", "annotator", project)
    save_label(image, owner, "mask", png_bytes(_square(0)), False, None)
    save_label(image, second, "mask", png_bytes(_square(5)), False, None)
    save_label(image, third, "unsure", None, False, None)  # takes no side
    chosen = training_labels(project)[image.pk]
    assert chosen.label.annotator.username == CONSENSUS_USER and chosen.is_soft
    stored = np.asarray(PILImage.open(chosen.mask.path))
    assert np.array_equal(stored, consensus([_square(0), _square(5)]))
    assert stored[0, 7] == 255 and stored[0, 2] == 128 and stored[15, 0] == 0
    # Nothing changed: the same version, so two snapshots taken now are equal.
    assert training_labels(project)[image.pk] == chosen
    # An annotator changes their mind: a new consensus version, the old one kept.
    save_label(image, second, "negative", None, False, second.labels.get().current_version_id)
    again = training_labels(project)[image.pk]
    assert again != chosen and again.parent == chosen
    assert np.asarray(PILImage.open(again.mask.path))[0, 2] == 128
    assert LabelVersion.objects.filter(pk=chosen.pk).exists()


@pytest.mark.django_db
def test_agreeing_negatives_make_a_negative_consensus(project, owner, make_user, image):
    second = make_user("second", "annotator", project)
    save_label(image, owner, "negative", None, False, None)
    save_label(image, second, "negative", None, False, None)
    assert training_labels(project)[image.pk].kind == LabelVersion.Kind.NEGATIVE
