"""What to judge next: one judgement takes an object off every inspector's queue, except for
a stable double-inspection sample that the project's number of inspectors judge; ties wait for
a supervisor."""

import csv
import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from inspection import audit_queue
from inspection.models import InspectionRecord, InspectorDecision, Station


def _ng_records(project, count: int) -> list[InspectionRecord]:
    station = Station.objects.create(name="Queue")
    station.projects.set([project])
    made = InspectionRecord.objects.bulk_create(
        InspectionRecord(
            station=station,
            captured_at=timezone.now(),
            verdict="ng",
            result={"verdict": "ng", "defects": [{"project": project.pk}], "models": []},
        )
        for _ in range(count)
    )
    through = InspectionRecord.projects.through
    through.objects.bulk_create(
        through(inspectionrecord_id=r.pk, project_id=project.pk) for r in made
    )
    return made


def _queue(client) -> dict[int, dict]:
    return {r["id"]: r for r in client.get("/api/review-queue/").json()["results"]}


def _judge(client, record, decision="present", **extra):
    body = {"decisions": {str(record.projects.get().pk): decision}, **extra}
    answer = client.post(f"/api/records/{record.pk}/decisions/", body, format="json")
    assert answer.status_code == 201, answer.content


@pytest.fixture
def team(project, make_user, client_for):
    project.audit_ok_sample = 0.0
    project.save()
    users = {
        name: make_user(name, role, project)
        for name, role in (("ann", "inspector"), ("bob", "inspector"), ("cy", "inspector"))
    }
    users["sue"] = make_user("sue", "supervisor", project)
    return {name: client_for(user) for name, user in users.items()} | {"users": users}


@pytest.mark.django_db
def test_without_a_double_sample_one_judgement_takes_an_object_off_every_queue(project, team):
    project.audit_double_sample = 0.0
    project.save()
    first, second = _ng_records(project, 2)
    assert set(_queue(team["bob"])) == {first.pk, second.pk}
    _judge(team["ann"], first)
    queue = _queue(team["bob"])
    assert set(queue) == {second.pk}
    assert queue[second.pk]["double_inspection"] is False
    assert (queue[second.pk]["judgements"], queue[second.pk]["judgements_needed"]) == (0, 1)


@pytest.mark.django_db
def test_the_double_sample_stays_queued_until_two_inspectors_judged(project, team):
    project.audit_double_sample = 1.0
    project.save()
    record, settled = _ng_records(project, 2)
    _judge(team["ann"], record)
    assert record.pk not in _queue(team["ann"])  # never twice by the same inspector
    item = _queue(team["bob"])[record.pk]
    assert item["double_inspection"] is True
    assert (item["judgements"], item["judgements_needed"]) == (1, 2)
    _judge(team["bob"], record, "absent")
    assert record.pk not in _queue(team["bob"])
    assert record.pk not in _queue(team["cy"])  # two different inspectors: done
    # A supervisor's adjudication settles an object whatever the sample asked for.
    _judge(team["ann"], settled)
    _judge(team["sue"], settled, adjudicate=True)
    assert settled.pk not in _queue(team["cy"])


@pytest.mark.django_db
def test_three_inspectors_judge_the_double_sample_and_fleiss_kappa_counts_all_three(project, team):
    project.audit_double_sample = 1.0
    project.audit_double_inspectors = 3
    project.save()
    records = _ng_records(project, 4)
    # (ann, bob, cy) per object. Any two of them alone would agree more: ann and bob always do.
    plan = [
        ("present", "present", "present"),
        ("present", "present", "absent"),
        ("absent", "absent", "absent"),
        ("absent", "absent", "present"),
    ]
    for record, (a, b, _) in zip(records, plan, strict=True):
        _judge(team["ann"], record, a)
        _judge(team["bob"], record, b)
    first = records[0]
    item = _queue(team["cy"])[first.pk]  # two judged: still waiting for a third
    assert item["double_inspection"] is True
    assert (item["judgements"], item["judgements_needed"]) == (2, 3)
    assert first.pk in _queue(team["sue"])  # a supervisor may be the third
    assert first.pk not in _queue(team["bob"])

    for record, (_, _, c) in zip(records, plan, strict=True):
        _judge(team["cy"], record, c)
    for name in ("ann", "bob", "cy", "sue"):
        assert not set(_queue(team[name])) & {r.pk for r in records}, name

    report = team["sue"].get(f"/api/projects/{project.pk}/audit/").json()
    assert len(report["inspectors"]["pairs"]) == 3
    # By hand: per-object agreement 1, 1/3, 1, 1/3 (mean 2/3); categories half and half, so
    # chance agreement 1/2 and kappa (2/3 - 1/2) / (1 - 1/2) = 1/3. Ann and bob alone: 1.
    assert report["inspectors"]["fleiss_kappa"] == pytest.approx(1 / 3)


@pytest.mark.django_db
def test_the_double_sample_is_a_stable_half_of_200_objects(project, make_user):
    project.audit_ok_sample = 0.0
    project.audit_double_sample = 0.5
    project.save()
    ann = make_user("ann", "inspector", project)
    bob = make_user("bob", "inspector", project)
    made = _ng_records(project, 200)
    InspectorDecision.objects.bulk_create(
        InspectorDecision(record=r, project=project, inspector=ann, decision="present")
        for r in made
    )
    records = InspectionRecord.objects.filter(pk__in=[r.pk for r in made])
    left = {i.record.pk for i in audit_queue.review_queue(bob, records, limit=1000)}
    assert 80 <= len(left) <= 120
    assert left == {r.pk for r in made if audit_queue.double_sampled(r.pk, 0.5)}
    assert left == {i.record.pk for i in audit_queue.review_queue(bob, records, limit=1000)}
    # Drawn apart from the OK sample: being in one says nothing about the other.
    assert left != {r.pk for r in made if audit_queue.sampled(r.pk, 0.5)}


@pytest.mark.django_db
def test_ties_wait_in_the_supervisors_queue_until_adjudicated(project, team):
    project.audit_double_sample = 1.0
    project.save()
    tie, agreed, three_way = _ng_records(project, 3)
    _judge(team["ann"], tie, "present")
    _judge(team["bob"], tie, "unsure")
    _judge(team["ann"], agreed, "present")
    _judge(team["bob"], agreed, "present")
    for name, decision in (("ann", "present"), ("bob", "absent"), ("cy", "absent")):
        _judge(team[name], three_way, decision)  # 1-2: a majority, not a tie
    url = f"/api/projects/{project.pk}/audit/ties/"

    refused = team["ann"].get(url)
    assert refused.status_code == 403
    body = team["sue"].get(url).json()
    assert body["total"] == 1
    (item,) = body["results"]
    assert item["record"] == tie.pk and item["model"] == "present"
    assert item["decisions"] == {"ann": "present", "bob": "unsure"}
    assert item["counts"] == {"present": 1, "absent": 0, "unsure": 1}

    table = list(csv.DictReader(io.StringIO(team["sue"].get(f"{url}?format=csv").content.decode())))
    assert [(r["record"], r["counts.present"], r["decisions.bob"]) for r in table] == [
        (str(tie.pk), "1", "unsure")
    ]

    _judge(team["sue"], tie, "present", adjudicate=True)
    assert team["sue"].get(url).json() == {
        "project": project.pk,
        "defect_type": project.name,
        "total": 0,
        "results": [],
    }
    empty = team["sue"].get(f"{url}?since=2999-01-01&format=csv").content.decode()
    assert empty.splitlines()[0].startswith("record,captured_at,station,lot,verdict,model")


@pytest.mark.django_db
def test_the_double_sample_is_a_project_setting(project, owner, client_for):
    url = f"/api/projects/{project.pk}/"
    assert client_for(owner).get(url).json()["audit_double_sample"] == pytest.approx(0.1)
    changed = client_for(owner).patch(url, {"audit_double_sample": 0.25}, format="json")
    assert changed.status_code == 200 and changed.json()["audit_double_sample"] == 0.25
    too_much = client_for(owner).patch(url, {"audit_double_sample": 1.5}, format="json")
    assert too_much.status_code == 400


@pytest.mark.django_db
def test_how_many_inspectors_judge_the_double_sample_is_a_project_setting(
    project, owner, make_user, client_for
):
    url = f"/api/projects/{project.pk}/"
    assert client_for(owner).get(url).json()["audit_double_inspectors"] == 2
    changed = client_for(owner).patch(url, {"audit_double_inspectors": 3}, format="json")
    assert changed.status_code == 200 and changed.json()["audit_double_inspectors"] == 3
    for wrong in (1, 11):
        refused = client_for(owner).patch(url, {"audit_double_inspectors": wrong}, format="json")
        assert refused.status_code == 400
        assert "audit_double_inspectors" in refused.json()["errors"]
    project.refresh_from_db()
    assert project.audit_double_inspectors == 3

    admin = make_user("root", staff=True)
    admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    form = client.get(f"/admin/core/project/{project.pk}/change/").content.decode()
    field = re.search(r'<input[^>]*name="audit_double_inspectors"[^>]*>', form)
    assert field and 'value="3"' in field.group(0)
    project.audit_double_inspectors = 1
    with pytest.raises(ValidationError, match="greater than or equal to 2"):
        project.full_clean()  # what the admin form checks on save
