"""Every record names the dataset snapshot behind each model that judged it, so a verdict
traces back to the exact images and label versions its model learnt from."""

from inspection.models import InspectionRecord, Station
from inspection.services import inspect_uploads
from tests.conftest import make_image, png_bytes
from training import registry
from training.models import DatasetSnapshot, ModelVersion, TrainingJob


def _copy(version: ModelVersion, number: int, job: TrainingJob | None) -> ModelVersion:
    fields = {
        f.name: getattr(version, f.name)
        for f in ModelVersion._meta.fields
        if f.name not in ("id", "job", "number", "is_production", "is_shadow", "created_at")
    }
    return ModelVersion.objects.create(**fields | {"number": number, "job": job})


def _job_on_another_snapshot(project) -> TrainingJob:
    snapshot = DatasetSnapshot.objects.create(project=project, items={}, digest="another")
    return TrainingJob.objects.create(
        project=project, params={}, dataset=snapshot, status="succeeded"
    )


def test_the_loaded_model_carries_its_jobs_snapshot(trained_model):
    assert trained_model.job.dataset_id is not None
    assert registry.load(trained_model).snapshot_id == trained_model.job.dataset_id
    orphan = _copy(trained_model, 2, job=None)  # e.g. its job was deleted
    assert registry.load(orphan).snapshot_id is None


def test_production_and_shadow_entries_name_their_snapshots(trained_model, owner, client_for):
    project = trained_model.project
    trained_model.is_production = True
    trained_model.save()
    candidate = _copy(trained_model, 2, job=_job_on_another_snapshot(project))
    candidate.is_shadow = True
    candidate.save()
    station = Station.objects.create(name="Traced")
    station.projects.set([project])
    # A station's own decision rule replaces the thresholds, not the model's provenance.
    station.thresholds = {str(project.pk): {"threshold": 0.9}}
    station.save()

    pixels = make_image(5)
    pixels[20:36, 20:36] = 255
    record = inspect_uploads(owner, [project], station, [("cam1", png_bytes(pixels))])

    (production,) = record.result["models"]
    assert production["model_version"] == trained_model.pk
    assert production["snapshot"] == trained_model.job.dataset_id
    assert production["threshold"] == 0.9
    (shadow,) = record.result["shadow"]
    assert shadow["model_version"] == candidate.pk
    assert shadow["snapshot"] == candidate.job.dataset_id != production["snapshot"]

    stored = InspectionRecord.objects.get(pk=record.pk).result
    assert stored["models"][0]["snapshot"] == trained_model.job.dataset_id
    detail = client_for(owner).get(f"/api/records/{record.pk}/").json()
    assert detail["models"][0]["snapshot"] == trained_model.job.dataset_id
