"""Model registry: promotion history, rollback, comparison, predictions, the job page."""

import io

import numpy as np
from django.test import Client
from PIL import Image as PILImage

from tests.conftest import TINY_JOB
from training import services
from training.models import ModelVersion, TrainingJob


def _second_version(first: ModelVersion) -> ModelVersion:
    return ModelVersion.objects.create(
        project=first.project,
        job=None,
        number=2,
        threshold=0.4,
        min_area=3,
        input_height=64,
        input_width=64,
        weights=first.weights.name,
        onnx=first.onnx.name,
        metadata=first.metadata,
        metrics=first.metrics,
    )


def test_rollback_restores_the_previous_production_version(trained_model, client_for, owner):
    second = _second_version(trained_model)
    client = client_for(owner)
    client.post(f"/api/models/{trained_model.pk}/promote/")
    client.post(f"/api/models/{second.pk}/promote/")
    project = trained_model.project
    response = client.post(f"/api/projects/{project.pk}/models/rollback/")
    assert response.status_code == 200 and response.json()["id"] == trained_model.pk
    assert ModelVersion.objects.get(is_production=True) == trained_model
    history = client.get(f"/api/projects/{project.pk}/promotions/").json()["results"]
    assert [h["number"] for h in history] == [1, 2, 1]
    assert {h["promoted_by"] for h in history} == {"owner"}


def test_rollback_without_history_is_a_clear_400(client_for, owner, project):
    response = client_for(owner).post(f"/api/projects/{project.pk}/models/rollback/")
    assert response.status_code == 400 and "no earlier" in response.json()["detail"]


def test_compare_puts_two_versions_side_by_side(trained_model, client_for, owner):
    second = _second_version(trained_model)
    body = client_for(owner).get(f"/api/models/compare/?a={trained_model.pk}&b={second.pk}").json()
    assert (body["a"]["number"], body["b"]["number"]) == (1, 2)
    assert body["same_validation_split"] is False  # the second has no job, hence no snapshot
    assert body["delta_b_minus_a"]["image_f1"] == 0.0


def test_per_image_results_name_their_images(trained_model):
    rows = (
        trained_model.metrics["validation"]["per_image"]
        + trained_model.metrics["train"]["per_image"]
    )
    assert sorted(r["image"] for r in rows) == sorted(int(k) for k in trained_model.job.snapshot)
    worst = services.worst_images(trained_model.metrics)
    assert all("image" in row for row in worst)
    dataset = trained_model.job.dataset
    labelled = services.worst_images(trained_model.metrics, count=99, dataset=dataset)
    assert [r["image"] for r in labelled] == [
        r["image"] for r in services.worst_images(trained_model.metrics, count=99)
    ]
    for row in labelled:  # judged against the label version frozen in the snapshot
        assert row["label_version"] == dataset.items[str(row["image"])]
        assert row["label_mask"] == row["actual"]  # the negatives have no mask


def test_prediction_png_is_scoped_to_the_models_project(trained_model, client_for, owner, outsider):
    image = trained_model.project.images.first()
    url = f"/api/models/{trained_model.pk}/predict/{image.pk}/"
    response = client_for(owner).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    prob = np.asarray(PILImage.open(io.BytesIO(response.content)))
    assert prob.shape == (image.height, image.width)
    assert client_for(outsider).get(url).status_code == 404


def test_the_job_page_shows_curves_rule_and_worst_images(trained_model, owner):
    client = Client()
    client.force_login(owner)
    page = client.get(f"/jobs/{trained_model.job.pk}/").content.decode()
    assert 'id="loss-chart"' in page and 'id="pr-chart"' in page and 'id="metric-chart"' in page
    assert f"defective when ≥ {trained_model.min_area} px" in page
    assert f"/api/models/{trained_model.pk}/predict/" in page or "judged right" in page


def test_a_cancel_request_stops_a_running_job_at_the_next_batch(
    labelled_project, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job = services.create_job(labelled_project, owner, dict(TINY_JOB))
    TrainingJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    services.run_job(job.pk)  # claims it, then stops after its first batch
    job.refresh_from_db()
    assert job.status == "cancelled" and job.history == []
    assert not ModelVersion.objects.exists()


def test_the_comparison_page_says_whether_the_split_matches(trained_model, owner, outsider):
    second = _second_version(trained_model)
    client = Client()
    client.force_login(owner)
    url = f"/projects/{trained_model.project_id}/compare/?a={trained_model.pk}&b={second.pk}"
    page = client.get(url).content.decode()
    assert "v1 against v2" in page and "different data" in page
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_the_project_page_shows_who_promoted_what(trained_model, client_for, owner):
    client_for(owner).post(f"/api/models/{trained_model.pk}/promote/")
    client = Client()
    client.force_login(owner)
    page = client.get(f"/projects/{trained_model.project_id}/").content.decode()
    history = page[page.index('id="promotions"') :]
    assert "Production history" in history
    assert f"<td>v{trained_model.number}</td><td>{owner.username}</td>" in history
