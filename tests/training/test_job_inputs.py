"""What a project hands its jobs: labels that can teach a defect, and its miss cost, which
sets how the decision rule is chosen."""

import numpy as np
import pytest
from rest_framework.exceptions import ValidationError

from annotation.services import add_image, save_label
from tests.conftest import TINY_JOB, make_image, png_bytes
from training import services
from training.models import TrainingJob


def _label_without_defects(project, owner, count=3):
    for i in range(count):
        image, _ = add_image(project, png_bytes(make_image(i)), f"clean{i}.png", owner)
        if i == 0:  # a drawn mask that holds no defect pixel
            empty = png_bytes(np.zeros((64, 64), dtype=np.uint8))
            save_label(image, owner, "mask", empty, False, None)
        else:
            save_label(image, owner, "negative", None, False, None)


def test_a_project_without_defect_pixels_is_refused_before_queueing(
    client_for, owner, project, django_capture_on_commit_callbacks
):
    _label_without_defects(project, owner)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client_for(owner).post(
            f"/api/projects/{project.pk}/jobs/", TINY_JOB, format="json"
        )
    assert response.status_code == 400
    assert "no defect masks" in response.json()["detail"]
    assert not TrainingJob.objects.exists() and not queued


def test_a_project_without_defect_pixels_is_refused_by_the_service_too(project, owner):
    _label_without_defects(project, owner)
    with pytest.raises(ValidationError, match="no defect masks"):
        services.create_job(project, owner, dict(TINY_JOB), queue=False)


def test_a_projects_miss_cost_chooses_the_rule_by_cost(
    labelled_project, owner, django_capture_on_commit_callbacks
):
    labelled_project.miss_cost = 5.0
    labelled_project.save()
    with django_capture_on_commit_callbacks(execute=False):
        job = services.create_job(labelled_project, owner, dict(TINY_JOB, epochs=1))
    assert job.params["cost_ratio"] == 5.0
    assert services.train_config(job.params).cost_ratio == 5.0
    services.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.log
    rule = job.model_version.metrics["decision_rule"]
    assert rule["objective"] == "cost"
    assert (rule["threshold"], rule["min_area"]) == (
        job.model_version.threshold,
        job.model_version.min_area,
    )


def test_without_a_miss_cost_the_rule_is_chosen_by_f1(
    labelled_project, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job = services.create_job(labelled_project, owner, dict(TINY_JOB))
        explicit = services.create_job(labelled_project, owner, dict(TINY_JOB, cost_ratio=2.0))
    assert job.params["cost_ratio"] is None
    assert services.train_config(job.params).cost_ratio is None
    assert explicit.params["cost_ratio"] == 2.0  # a job's own value wins over the project's


def test_a_job_made_in_code_gets_the_apis_defaults(labelled_project, owner):
    job = services.create_job(labelled_project, owner, {"epochs": 1}, queue=False)
    assert (job.params["seed"], job.params["batch_size"], job.params["lr"]) == (0, 4, 1e-3)
    assert job.params["schedule"] == "budget" and job.params["epochs"] == 1
    services.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.SUCCEEDED, job.log


def test_a_weight_average_is_asked_for_through_the_api_within_its_range(
    client_for, owner, labelled_project, django_capture_on_commit_callbacks
):
    client = client_for(owner)
    url = f"/api/projects/{labelled_project.pk}/jobs/"
    with django_capture_on_commit_callbacks(execute=False):
        for bad in (0.3, 1.0, "often"):
            refused = client.post(url, dict(TINY_JOB, ema_decay=bad), format="json")
            assert refused.status_code == 400 and "ema_decay" in refused.json()["errors"]
        made = client.post(url, dict(TINY_JOB, ema_decay=0.95), format="json")
    assert made.status_code == 201, made.json()
    job = TrainingJob.objects.get(pk=made.json()["id"])
    assert services.train_config(job.params).ema_decay == 0.95
    services.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.SUCCEEDED, job.log
