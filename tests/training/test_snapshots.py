"""Dataset snapshots: frozen images, label versions and a stratified split; comparisons of
versions trained on different snapshots re-evaluate both on shared held-out images."""

import pytest

from annotation.models import Image
from annotation.services import save_label
from tests.conftest import TINY_JOB
from training import services
from training.ml.train import stratified_split
from training.models import DatasetSnapshot


def test_the_split_keeps_the_share_of_defective_images_in_validation():
    positive = [True] * 10 + [False] * 30
    train, val = stratified_split(positive, 0.2, seed=4)
    assert sorted(train + val) == list(range(40)) and not set(train) & set(val)
    assert sum(positive[i] for i in val) == 2 and len(val) == 8
    assert stratified_split(positive, 0.2, seed=4) == (train, val)
    assert stratified_split(positive, 0.2, seed=5) != (train, val)


def test_a_lone_defective_image_stays_in_training():
    train, val = stratified_split([True] + [False] * 9, 0.5, seed=0)
    assert 0 in train and len(val) == 4  # half of 9 clean images, rounded to even


def _job(project, user, capture, **params):
    with capture(execute=False):
        return services.create_job(project, user, dict(TINY_JOB, **params))


@pytest.mark.django_db
def test_unchanged_labels_give_one_stored_snapshot(
    labelled_project, owner, django_capture_on_commit_callbacks
):
    first = _job(labelled_project, owner, django_capture_on_commit_callbacks, val_fraction=0.5)
    second = _job(labelled_project, owner, django_capture_on_commit_callbacks, val_fraction=0.5)
    other_split = _job(
        labelled_project, owner, django_capture_on_commit_callbacks, val_fraction=0.5, seed=9
    )
    assert first.dataset_id == second.dataset_id
    assert DatasetSnapshot.objects.count() <= 2
    dataset = first.dataset
    assert len(dataset.items) == 6 and len(dataset.validation) == 3
    positives = {i.pk for i in Image.objects.filter(labels__current_version__kind="mask")}
    assert len(set(dataset.validation) & positives) == 2  # half of 4 defective, half of 2 clean
    assert other_split.dataset.items == dataset.items


@pytest.mark.django_db
def test_versions_on_different_snapshots_are_compared_on_shared_held_out_images(
    labelled_project, owner, django_capture_on_commit_callbacks
):
    first = _job(labelled_project, owner, django_capture_on_commit_callbacks, val_fraction=0.5)
    services.run_job(first.pk)
    first.refresh_from_db()
    validation_ids = sorted(first.dataset.validation)
    rows = first.model_version.metrics["validation"]["per_image"]
    assert sorted(r["image"] for r in rows) == validation_ids

    # A new label version on a training image: a new snapshot with the same split.
    training_image = next(
        i
        for i in Image.objects.filter(labels__current_version__kind="negative")
        if i.pk not in validation_ids
    )
    label = training_image.labels.get()
    save_label(training_image, owner, "negative", None, False, label.current_version_id)
    second = _job(labelled_project, owner, django_capture_on_commit_callbacks, val_fraction=0.5)
    assert second.dataset_id != first.dataset_id
    assert sorted(second.dataset.validation) == validation_ids
    services.run_job(second.pk)
    second.refresh_from_db()

    result = services.compare(first.model_version, second.model_version)
    assert result["same_validation_split"] is False and result["comparable"] is True
    assert result["basis"].startswith(f"re-evaluated on {len(validation_ids)} validation")
    assert result["a"]["images"] == result["b"]["images"] == len(validation_ids)
    for side in ("a", "b"):
        assert 0.0 <= result[side]["image_f1"] <= 1.0
