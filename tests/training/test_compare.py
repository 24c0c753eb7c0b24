"""Two versions trained on one snapshot compare on that snapshot's validation split."""

from tests.conftest import TINY_JOB
from training import services


def test_versions_on_one_snapshot_compare_on_its_validation_split(
    trained_model, owner, django_capture_on_commit_callbacks
):
    first = trained_model
    with django_capture_on_commit_callbacks(execute=False):
        job = services.create_job(
            first.project, owner, dict(TINY_JOB, lr=0.003, snapshot_from=first.job_id)
        )
    assert job.dataset_id == first.job.dataset_id
    services.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.log
    second = job.model_version

    result = services.compare(first, second)
    assert result["same_validation_split"] is True and result["comparable"] is True
    assert result["basis"] == "stored validation split"
    validation = first.job.dataset.validation
    assert validation and result["a"]["images"] == result["b"]["images"] == len(validation)
    for side, version in (("a", first), ("b", second)):
        stored = version.metrics["validation"]
        assert result[side]["image_f1"] == stored["image"]["f1"]
        assert result[side]["pixel_iou"] == stored["pixel"]["all"]["iou"]
        assert sorted(r["image"] for r in stored["per_image"]) == sorted(validation)
    assert result["delta_b_minus_a"]["image_f1"] == (
        result["b"]["image_f1"] - result["a"]["image_f1"]
    )
