from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import TINY_JOB
from training import services
from training.models import ModelVersion, TrainingJob


def test_a_job_on_a_project_without_labels_is_refused_before_any_work(client_for, owner, project):
    response = client_for(owner).post(f"/api/projects/{project.pk}/jobs/", TINY_JOB, format="json")
    assert response.status_code == 400
    assert "no labels" in response.json()["detail"]
    assert not TrainingJob.objects.exists()


@pytest.mark.parametrize("field,value", [("epochs", -1), ("lr", 0), ("input_size", [100, 64])])
def test_absurd_parameters_are_refused_naming_the_field(
    client_for, owner, labelled_project, field, value
):
    payload = dict(TINY_JOB, **{field: value})
    response = client_for(owner).post(
        f"/api/projects/{labelled_project.pk}/jobs/", payload, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_annotators_may_not_start_jobs(client_for, annotator, labelled_project):
    response = client_for(annotator).post(
        f"/api/projects/{labelled_project.pk}/jobs/", TINY_JOB, format="json"
    )
    assert response.status_code == 403


def test_a_job_trains_and_records_a_model_version_with_metrics(trained_model, labelled_project):
    job = trained_model.job
    assert len(job.snapshot) == 6
    assert [h["epoch"] for h in job.history] == [0, 1]
    for record in job.history:  # the live curves' figures, after every epoch
        assert 0.0 <= record["val_iou"] <= 1.0 and 0.0 <= record["val_f1"] <= 1.0
        assert record["val_loss"] > 0
    assert trained_model.number == 1
    assert {"train", "validation"} <= set(trained_model.metrics)
    assert (
        trained_model.metrics["train"]["images"] + trained_model.metrics["validation"]["images"]
        == 6
    )
    kinds = list(labelled_project.events.values_list("kind", flat=True))
    assert "job.progress" in kinds and kinds[-1] == "job.updated"
    assert "from scratch" in job.log


def test_promotion_keeps_one_production_model(trained_model, client_for, owner):
    second = ModelVersion.objects.create(
        project=trained_model.project,
        number=2,
        threshold=0.5,
        min_area=1,
        input_height=64,
        input_width=64,
        weights=trained_model.weights.name,
        metadata=trained_model.metadata,
    )
    client = client_for(owner)
    assert client.post(f"/api/models/{trained_model.pk}/promote/").status_code == 200
    assert client.post(f"/api/models/{second.pk}/promote/").status_code == 200
    production = ModelVersion.objects.filter(is_production=True)
    assert list(production) == [second]


def test_cancelling_a_queued_job_stops_it(
    labelled_project, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job = services.create_job(labelled_project, owner, dict(TINY_JOB))
    services.cancel_job(job)
    services.run_job(job.pk)  # a worker picking it up later does nothing
    job.refresh_from_db()
    assert job.status == "cancelled" and not ModelVersion.objects.exists()


def test_the_reaper_requeues_a_job_whose_worker_died_then_fails_it(
    labelled_project, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job = services.create_job(labelled_project, owner, dict(TINY_JOB))
    stale = timezone.now() - timedelta(hours=1)
    TrainingJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=stale, attempts=1)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert services.reap_stale_jobs() == [job.pk]
    assert len(queued) == 1
    job.refresh_from_db()
    assert job.status == "queued" and "requeued" in job.log
    TrainingJob.objects.filter(pk=job.pk).update(
        status="running", heartbeat_at=stale, attempts=services.MAX_ATTEMPTS
    )
    services.reap_stale_jobs()
    job.refresh_from_db()
    assert job.status == "failed" and "stopped responding" in job.error


def test_a_job_keeps_only_its_newest_checkpoint_and_none_after_success(trained_model, settings):
    folder = settings.MEDIA_ROOT / f"projects/{trained_model.project_id}/checkpoints"
    assert not folder.exists() or not any(folder.iterdir())
    assert not trained_model.job.checkpoint


def test_a_time_budget_stops_training_early(
    labelled_project, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job = services.create_job(
            labelled_project, owner, dict(TINY_JOB, epochs=500, max_minutes=0.001)
        )
    services.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded" and len(job.history) == 1


def test_a_job_can_reuse_another_jobs_snapshot(
    labelled_project, owner, client_for, django_capture_on_commit_callbacks
):
    from annotation.models import Image

    client = client_for(owner)
    with django_capture_on_commit_callbacks(execute=False):
        first = client.post(f"/api/projects/{labelled_project.pk}/jobs/", TINY_JOB, format="json")
        image = Image.objects.first()
        client.post(
            f"/api/images/{image.pk}/labels/",
            {"kind": "negative", "base_version": first.json()["snapshot"][str(image.pk)]},
            format="multipart",
        )
        again = client.post(
            f"/api/projects/{labelled_project.pk}/jobs/",
            dict(TINY_JOB, snapshot_from=first.json()["id"]),
            format="json",
        )
        fresh = client.post(f"/api/projects/{labelled_project.pk}/jobs/", TINY_JOB, format="json")
    assert again.json()["snapshot"] == first.json()["snapshot"]
    assert fresh.json()["snapshot"] != first.json()["snapshot"]  # the new label version


def test_a_snapshot_whose_files_vanished_is_refused_before_queueing(
    labelled_project, owner, client_for
):
    from annotation.models import Image

    image = Image.objects.first()
    image.file.storage.delete(image.file.name)
    response = client_for(owner).post(
        f"/api/projects/{labelled_project.pk}/jobs/", TINY_JOB, format="json"
    )
    assert response.status_code == 400
    assert f"image {image.pk}" in response.json()["detail"]
    assert not TrainingJob.objects.exists()


def test_a_job_whose_checkpoint_is_damaged_fails_with_the_reason(
    labelled_project, owner, django_capture_on_commit_callbacks
):
    from defect_platform.core.storage import save_bytes

    with django_capture_on_commit_callbacks(execute=False):
        job = services.create_job(labelled_project, owner, dict(TINY_JOB))
    name = save_bytes(f"projects/{labelled_project.pk}/checkpoints/bad.pt", b"\x00" * 64)
    TrainingJob.objects.filter(pk=job.pk).update(checkpoint=name)
    services.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert "checkpoint is unreadable" in job.error and "Traceback" not in job.error


def test_decoder_widths_and_class_weight_reach_the_model(
    labelled_project, owner, client_for, django_capture_on_commit_callbacks
):
    params = dict(TINY_JOB, decoder_channels=[32, 16, 8, 8, 8], pos_weight=3.5)
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(owner).post(
            f"/api/projects/{labelled_project.pk}/jobs/", params, format="json"
        )
    assert response.status_code == 201, response.content
    services.run_job(response.json()["id"])
    version = ModelVersion.objects.get(job_id=response.json()["id"])
    assert version.metadata["pos_weight"] == 3.5
    detail = client_for(owner).get(f"/api/models/{version.pk}/").json()
    assert detail["snapshot"] == version.job.dataset_id
    assert detail["pixel_threshold"] == version.pixel_threshold and detail["runtime"]
    assert detail["artifacts"] == {"weights": True, "onnx": True, "int8": bool(version.int8_model)}
    assert detail["normalisation"]["mean"] == pytest.approx([0.485, 0.456, 0.406])
    assert "from scratch" in detail["pretrained"]
    from training.ml.meta import ModelMeta

    meta = ModelMeta.from_json(version.metadata["meta"])
    assert tuple(meta.model.decoder_channels) == (32, 16, 8, 8, 8)


@pytest.mark.parametrize(
    "field,value", [("decoder_channels", [32, 16]), ("pos_weight", 0), ("pos_weight", "many")]
)
def test_bad_model_options_are_refused_naming_the_field(
    client_for, owner, labelled_project, field, value
):
    payload = dict(TINY_JOB, **{field: value})
    response = client_for(owner).post(
        f"/api/projects/{labelled_project.pk}/jobs/", payload, format="json"
    )
    assert response.status_code == 400 and field in response.json()["errors"]
