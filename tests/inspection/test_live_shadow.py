"""A shadow candidate on the live line: a running station records the candidate's findings
beside production's in every record, and only production's verdict is the line's."""

import asyncio

import pytest

from inspection.models import InspectionRecord, Station
from tests.inspection.test_live_verdicts import _token, _verdicts
from training.models import ModelVersion

pytestmark = pytest.mark.django_db(transaction=True)


def _candidate(version: ModelVersion, **changes) -> ModelVersion:
    fields = {
        f.name: getattr(version, f.name)
        for f in ModelVersion._meta.fields
        if f.name not in ("id", "job", "number", "is_production", "is_shadow", "created_at")
    }
    return ModelVersion.objects.create(**fields | {"number": 2, "is_shadow": True, **changes})


def test_a_running_station_records_the_shadow_beside_production_and_never_as_the_verdict(
    trained_model, owner
):
    project = trained_model.project
    trained_model.is_production = True
    trained_model.save(update_fields=["is_production"])
    # The candidate finds a defect in every view (threshold 0); production, held above any
    # probability by the station's rule, finds none: they disagree on every object.
    candidate = _candidate(trained_model, threshold=0.0, min_area=1)
    station = Station.objects.create(
        name="Shadow line",
        fps=6.0,
        max_skew_ms=60_000,  # a busy test machine renders the views far apart: not the point
        thresholds={str(project.pk): {"threshold": 1.01, "min_area": 1}},
    )
    station.projects.set([project])

    messages, _ = asyncio.run(_verdicts(station, _token(owner), 3))
    assert all(m["judging"] == "on" for m in messages), messages[0]
    for message in messages:
        verdict = message["verdict"]
        assert verdict["verdict"] == "ok", verdict.get("quality_issues")
        assert verdict["defects"] == []
        assert [m["model_version"] for m in verdict["models"]] == [trained_model.pk]
        record = InspectionRecord.objects.get(pk=message["record"])
        assert record.verdict == "ok" and record.result["verdict"] == "ok"
        (shadow,) = record.result["shadow"]
        assert shadow["model_version"] == candidate.pk and shadow["project"] == project.pk
        assert shadow["defective"] is True
        assert sorted(v["camera"] for v in shadow["views"]) == ["cam1", "cam2"]
        # The candidate's findings left no mask and no defect on the record.
        assert not record.masks.exists()
    assert messages[-1]["counts"]["ng"] == 0
    assert not InspectionRecord.objects.filter(station=station, verdict="ng").exists()
