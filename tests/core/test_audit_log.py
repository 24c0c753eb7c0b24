"""The audit log: sensitive actions are recorded where they happen, and read by role."""

import pytest

from defect_platform.core.models import AuditLogEntry
from defect_platform.core.roles import Role
from inspection import camera_setup, station_state
from inspection.models import Station
from training import services
from training.models import ModelVersion, TrainingJob

pytestmark = pytest.mark.django_db


def _actions(client, **query):
    answer = client.get("/api/audit-log/", query)
    assert answer.status_code == 200
    return [(e["action"], e["actor_name"], e["target"]) for e in answer.json()["results"]]


def _version(project, number):
    job = TrainingJob.objects.create(project=project, params={}, status="succeeded")
    return ModelVersion.objects.create(
        project=project,
        job=job,
        number=number,
        threshold=0.5,
        min_area=1,
        input_height=64,
        input_width=64,
    )


def test_settings_roles_models_stations_and_tokens_are_recorded(
    client_for, owner, annotator, outsider, make_user, project
):
    client = client_for(owner)
    assert client.patch(
        f"/api/projects/{project.pk}/", {"decision_threshold": 0.7}, format="json"
    ).status_code == (200)
    client.patch(f"/api/projects/{project.pk}/", {"description": project.description})  # same
    added = client.post(
        f"/api/projects/{project.pk}/members/",
        {"username": make_user("newbie").username, "role": Role.ANNOTATOR},
        format="json",
    )
    assert added.status_code == 201, added.json()
    member = f"/api/projects/{project.pk}/members/{added.json()['id']}/"
    assert client.patch(member, {"role": Role.REVIEWER}, format="json").status_code == 200
    assert client.delete(member).status_code == 204

    first, second = _version(project, 1), _version(project, 2)
    services.promote(first, owner)
    services.promote(second, owner)
    services.rollback(project, owner)
    station = Station.objects.create(name="Line 7")
    station.projects.set([project])
    station_state.set_active(station, owner, False)
    station_state.set_active(station, owner, False)  # already stopped: nothing to record
    camera_setup.save_cameras(station, [{"name": "top", "kind": "synthetic"}], owner)

    assert _actions(client)[::-1] == [
        ("project.settings", "owner", project.name),
        ("membership.added", "owner", "newbie"),
        ("membership.changed", "owner", "newbie"),
        ("membership.removed", "owner", "newbie"),
        ("model.promoted", "owner", "model v1"),
        ("model.promoted", "owner", "model v2"),
        ("model.rolled_back", "owner", "model v1"),
        ("station.stopped", "owner", "station Line 7"),
        ("station.cameras", "owner", "station Line 7"),
    ]
    settings = AuditLogEntry.objects.get(action="project.settings")
    assert settings.detail["changes"]["decision_threshold"][1] == "0.7"
    assert list(settings.detail["changes"]) == ["decision_threshold"]
    assert AuditLogEntry.objects.get(action="membership.changed").detail["role"] == [
        Role.ANNOTATOR,
        Role.REVIEWER,
    ]
    # Filters narrow the list.
    assert [a for a, *_ in _actions(client, action="model.promoted")] == ["model.promoted"] * 2

    # The last owner cannot demote themselves (nobody could manage the project after).
    mine = client.get(f"/api/projects/{project.pk}/members/").json()["results"]
    own_row = next(m for m in mine if m["username"] == "owner")
    demote = client.patch(
        f"/api/projects/{project.pk}/members/{own_row['id']}/", {"role": "annotator"}, format="json"
    )
    assert demote.status_code == 400 and "owner" in demote.json()["errors"]["role"][0]

    # The annotator is no owner: the project's entries stay hidden; the outsider's too.
    assert _actions(client_for(annotator)) == []
    assert _actions(client_for(outsider)) == []


def test_a_new_api_token_is_recorded_once_and_seen_by_its_user(client, make_user):
    user = make_user("robot")
    for _ in range(2):
        answer = client.post("/api/auth/token/", {"username": "robot", "password": "pw-12345678"})
        assert answer.status_code == 200
    entries = AuditLogEntry.objects.filter(action="token.created")
    assert [(e.actor_id, e.target) for e in entries] == [(user.pk, "token of robot")]
    own = client.get("/api/audit-log/", HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    assert [e["action"] for e in own.json()["results"]] == ["token.created"]
