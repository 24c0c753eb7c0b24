"""A station overrides its models' decision rule: the verdict follows it, the record keeps the
rule it was judged with, bad rules are refused, and every change is in the audit log."""

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from defect_platform.core.models import AuditLogEntry
from inspection.models import Station
from tests.conftest import png_bytes


@pytest.fixture
def station(trained_model, other_project):
    station = Station.objects.create(name="Line 9")
    station.projects.add(trained_model.project, other_project)
    return station


def _inspect(client, station):
    image = np.zeros((64, 64, 3), np.uint8)
    image[20:36, 20:36] = 255
    upload = SimpleUploadedFile("v.png", png_bytes(image), "image/png")
    response = client.post(
        "/api/inspect/", {"station": station.pk, "images": [upload]}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    return response.json()


def _set(client, station, rules):
    return client.patch(
        f"/api/stations/{station.pk}/thresholds/", {"thresholds": rules}, format="json"
    )


def test_an_override_decides_the_verdict_and_the_record_keeps_the_rule(
    client_for, owner, inspector, station, trained_model
):
    engineer, judge = client_for(owner), client_for(inspector)
    key = str(trained_model.project.pk)
    # Everything above a hair of probability over one pixel: NG.
    assert _set(engineer, station, {key: {"threshold": 1e-6, "min_area": 1}}).status_code == 200
    strict = _inspect(judge, station)
    assert strict["verdict"] == "ng"
    assert strict["models"][0] | {"threshold": 1e-6, "min_area": 1} == strict["models"][0]
    # More defect pixels than the image holds: nothing can be NG.
    assert _set(engineer, station, {key: {"min_area": 64 * 64 + 1}}).status_code == 200
    lenient = _inspect(judge, station)
    assert lenient["verdict"] == "ok" and lenient["models"][0]["min_area"] == 64 * 64 + 1
    # Cleared: the model's own rule again.
    assert _set(engineer, station, {key: None}).status_code == 200
    own = _inspect(judge, station)["models"][0]
    assert (own["threshold"], own["min_area"]) == (trained_model.threshold, trained_model.min_area)

    rows = judge.get(f"/api/stations/{station.pk}/thresholds/").json()["projects"]
    mine = next(r for r in rows if r["project"] == trained_model.project.pk)
    assert mine["override"] is None and mine["effective"] == mine["model"]
    assert mine["model"] == {
        "threshold": trained_model.threshold,
        "min_area": trained_model.min_area,
    }
    other = next(r for r in rows if r["project"] != trained_model.project.pk)
    assert other["model"] is None and other["effective"] is None  # no model there yet

    # One entry per project of the station, so each project's owners see the change.
    entries = AuditLogEntry.objects.filter(action="station.thresholds").order_by("pk")
    assert entries.count() == 3 * station.projects.count()
    entries = entries.filter(project=trained_model.project)
    assert [e.detail["changes"][key][1] for e in entries] == [
        {"threshold": 1e-6, "min_area": 1},
        {"min_area": 64 * 64 + 1},
        None,
    ]
    assert all(e.actor == owner for e in entries)


@pytest.mark.parametrize(
    "rule",
    [
        {"threshold": 0},
        {"threshold": 1.5},
        {"threshold": "0.5"},
        {"threshold": True},
        {"min_area": -1},
        {"min_area": 2.5},
        {"min_area": 10**12},
        {"colour": "red"},
        {},
        [0.5],
    ],
)
def test_a_bad_rule_is_refused_and_nothing_changes(client_for, owner, station, trained_model, rule):
    response = _set(client_for(owner), station, {str(trained_model.project.pk): rule})
    assert response.status_code == 400
    assert response.json()["detail"]
    station.refresh_from_db()
    assert station.thresholds == {}
    assert not AuditLogEntry.objects.filter(action="station.thresholds").exists()


def test_only_engineers_of_each_project_named_may_set_its_rule(
    client_for, make_user, owner, inspector, station, trained_model, project
):
    key = str(trained_model.project.pk)
    assert _set(client_for(inspector), station, {key: {"min_area": 5}}).status_code == 403
    # Owner of this project, but the other project on the station is not theirs to set.
    other = str(next(p.pk for p in station.projects.all() if str(p.pk) != key))
    refused = _set(client_for(owner), station, {other: {"min_area": 5}})
    assert refused.status_code == 403
    unknown = _set(client_for(owner), station, {"999999": {"min_area": 5}})
    assert unknown.status_code == 400
    station.refresh_from_db()
    assert station.thresholds == {}
