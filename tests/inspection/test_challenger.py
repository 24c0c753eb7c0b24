"""Champion and challenger: shadow candidates judged beside production on every inspected
object, replays over stored captures, and the comparison that recommends a promotion."""

import pytest

from inspection import challenger
from inspection.models import InspectionRecord, InspectorDecision, Replay, Station
from inspection.services import inspect_uploads
from tests.conftest import make_image, png_bytes
from training.models import ModelVersion

P, A = "present", "absent"


def test_the_comparison_counts_and_recommends():
    # (production NG?, candidate NG?, inspectors)
    pairs = [
        (True, True, P),
        (False, True, P),
        (False, False, A),
        (True, False, A),
        (False, False, None),
    ]
    report = challenger.compare(pairs)
    assert (report["objects"], report["both_ng"], report["both_ok"]) == (5, 1, 2)
    assert (report["candidate_only_ng"], report["production_only_ng"]) == (1, 1)
    assert report["agreement"] == pytest.approx(3 / 5)
    assert report["inspector_judged"] == 4
    assert report["champion"]["tp"] == 1 and report["champion"]["fn"] == 1
    assert report["challenger"]["tp"] == 2 and report["challenger"]["fn"] == 0
    assert report["recommend_promotion"] is True and "promote" in report["advice"]
    # Right as often but missing a defect production caught: keep production.
    worse = challenger.compare([(True, False, P), (False, False, A), (True, True, A)])
    assert worse["recommend_promotion"] is False and "misses 1 defects" in worse["advice"]
    none = challenger.compare([(True, False, None)])
    assert none["recommend_promotion"] is None and "no inspector decisions" in none["advice"]
    assert challenger.compare([])["agreement"] is None


def _copy(version: ModelVersion, number: int) -> ModelVersion:
    fields = {
        f.name: getattr(version, f.name)
        for f in ModelVersion._meta.fields
        if f.name not in ("id", "job", "number", "is_production", "is_shadow", "created_at")
    }
    return ModelVersion.objects.create(**fields | {"number": number})


@pytest.mark.django_db
def test_a_shadow_is_recorded_beside_production_and_never_decides(
    trained_model, owner, make_user, client_for
):
    project = trained_model.project
    trained_model.is_production = True
    trained_model.save()
    candidate = _copy(trained_model, 2)
    api = client_for(owner)
    refused = api.post(f"/api/models/{trained_model.pk}/shadow/", {"shadow": True}, format="json")
    assert refused.status_code == 400  # production cannot shadow itself
    assert api.post(
        f"/api/models/{candidate.pk}/shadow/", {"shadow": True}, format="json"
    ).json() == {"model_version": candidate.pk, "shadow": True}

    station = Station.objects.create(name="Shadowed")
    station.projects.set([project])
    records = []
    for seed in range(4):
        pixels = make_image(seed)
        if seed % 2 == 0:
            pixels[20:36, 20:36] = 255
        records.append(inspect_uploads(owner, [project], station, [("cam1", png_bytes(pixels))]))
    for record in records:
        (entry,) = record.result["shadow"]
        assert entry["model_version"] == candidate.pk and entry["project"] == project.pk
        # Same weights as production: the same finding, but only production decides.
        production_ng = any(d["project"] == project.pk for d in record.result["defects"])
        assert entry["defective"] == production_ng
        assert [m["model_version"] for m in record.result["models"]] == [trained_model.pk]

    inspector = make_user("insp", "inspector", project)
    for record in records:
        InspectorDecision.objects.create(
            record=record, project=project, inspector=inspector, decision=P
        )
    report = client_for(inspector).get(f"/api/projects/{project.pk}/challenger/").json()
    figures = report["versions"][str(candidate.pk)]
    assert figures["objects"] == 4 and figures["agreement"] == 1.0
    assert figures["inspector_judged"] == 4 and figures["recommend_promotion"] is False

    # Promoting the candidate takes it out of the shadows.
    api.post(f"/api/models/{candidate.pk}/promote/")
    candidate.refresh_from_db()
    assert candidate.is_production and not candidate.is_shadow


@pytest.mark.django_db
def test_a_replay_runs_the_candidate_over_stored_captures(
    trained_model, owner, inspector, client_for
):
    project = trained_model.project
    station = Station.objects.create(name="Replayed", keep_ok_images=1.0)
    station.projects.set([project])
    for seed in range(3):
        inspect_uploads(owner, [project], station, [("cam1", png_bytes(make_image(seed)))])
    pruned = InspectionRecord.objects.order_by("pk").first()
    pruned.views.update(file="")
    # An inspector says each judged object is defective: the replay is held against that.
    for record in InspectionRecord.objects.exclude(pk=pruned.pk):
        decided = client_for(inspector).post(
            f"/api/records/{record.pk}/decisions/",
            {"decisions": {str(project.pk): "present"}},
            format="json",
        )
        assert decided.status_code == 201
    candidate = _copy(trained_model, 2)
    answer = client_for(owner).post(f"/api/models/{candidate.pk}/replays/", {"limit": 10})
    assert answer.status_code == 202 and answer.json()["status"] == "queued"
    run = challenger.run(answer.json()["id"])  # what the Celery task does
    assert run.status == Replay.Status.SUCCEEDED
    assert run.report["objects"] == 2 and run.report["records_without_images"] == 1
    assert run.report["agreement"] == 1.0  # the same weights as the model that judged them
    assert run.report["inspector_judged"] == 2
    champion, challenger_ = run.report["champion"], run.report["challenger"]
    assert champion["tp"] + champion["fn"] == 2  # both objects are defects to the inspector
    assert {k: challenger_[k] for k in ["tp", "fp", "fn", "tn"]} == {
        k: champion[k] for k in ["tp", "fp", "fn", "tn"]
    }
    # Right exactly as often as production: no reason to promote.
    assert run.report["recommend_promotion"] is False
    assert run.report["advice"].startswith("keep production")
    detail = client_for(owner).get(f"/api/replays/{run.pk}/").json()
    assert detail["report"]["both_ng"] + detail["report"]["both_ok"] == 2
