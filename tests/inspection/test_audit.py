"""Audit: inspector decisions, the review queue, and the model-against-inspector figures,
checked against hand-computed cases and scikit-learn."""

import pytest
from django.test import Client
from django.utils import timezone
from sklearn.metrics import cohen_kappa_score, precision_score, recall_score

from annotation.models import Image
from defect_platform.core.models import Membership, Project
from defect_platform.core.storage import save_bytes
from inspection import audit_metrics as am
from inspection.models import InspectionRecord, InspectorDecision, RecordView, Station
from tests.inspection.conftest import jpeg


def test_consensus_is_the_majority_and_a_tie_is_unsure_until_adjudicated():
    assert am.consensus(["present", "present", "absent"]) == "present"
    assert am.consensus(["present", "absent"]) == "unsure"
    assert am.consensus(["present", "absent"], adjudicated="absent") == "absent"
    assert am.consensus([]) == "unsure"


def test_kappa_precision_and_recall_match_scikit_learn():
    a = ["present", "absent", "absent", "present", "unsure", "absent", "present", "absent"]
    b = ["present", "absent", "present", "present", "absent", "absent", "absent", "absent"]
    assert am.cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    model = [True, False, True, True, False, False, True, False]
    truth = ["present", "absent", "absent", "present", "present", "absent", "unsure", "absent"]
    kept = [(m, t) for m, t in zip(model, truth, strict=True) if t != "unsure"]
    y_pred = [m for m, _ in kept]
    y_true = [t == "present" for _, t in kept]
    figures = am.precision_recall(am.confusion(model, truth))
    assert figures["precision"] == pytest.approx(precision_score(y_true, y_pred))
    assert figures["recall"] == pytest.approx(recall_score(y_true, y_pred))
    assert figures["objects"] == 7


def test_fleiss_kappa_reproduces_the_textbook_example():
    # Fleiss (1971) as tabulated on Wikipedia: 10 items, 14 raters, 5 categories, kappa 0.210.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    ratings = [[str(c) for c, n in enumerate(row) for _ in range(n)] for row in table]
    assert am.fleiss_kappa(ratings) == pytest.approx(0.2099, abs=1e-4)
    assert am.precision_recall(am.confusion([], []))["precision"] is None  # no division by 0


@pytest.fixture
def records(project, make_user):
    station = Station.objects.create(name="A")
    station.projects.set([project])
    made = []
    for verdict, found in [("ng", True), ("ok", False), ("ng", True), ("ok", False)]:
        defects = [{"project": project.pk, "defect_type": "Crack", "views": []}] if found else []
        record = InspectionRecord.objects.create(
            station=station,
            captured_at=timezone.now(),
            verdict=verdict,
            result={"verdict": verdict, "defects": defects, "models": []},
        )
        record.projects.set([project])
        made.append(record)
    return made


@pytest.mark.django_db
def test_decisions_feed_the_report(records, project, make_user, client_for, owner):
    ann = make_user("ann", "inspector", project)
    bob = make_user("bob", "inspector", project)
    sue = make_user("sue", "supervisor", project)
    ng1, ok1, ng2, ok2 = records
    post = lambda user, record, body: client_for(user).post(  # noqa: E731
        f"/api/records/{record.pk}/decisions/", body, format="json"
    )
    assert post(ann, ng1, {"confirm": True}).status_code == 201
    assert post(bob, ng1, {"decisions": {str(project.pk): "present"}}).status_code == 201
    post(ann, ok1, {"confirm": True})
    post(bob, ok1, {"decisions": {str(project.pk): "present"}, "blind": True})  # an escape?
    post(ann, ng2, {"decisions": {str(project.pk): "absent"}})  # a false reject
    post(bob, ng2, {"decisions": {str(project.pk): "absent"}})
    # A tie on ok1 until the supervisor settles it.
    assert (
        post(sue, ok1, {"decisions": {str(project.pk): "present"}, "adjudicate": True}).status_code
        == 201
    )
    refused = post(owner, ng1, {"confirm": True})
    assert refused.status_code == 403 and "inspector or supervisor" in refused.json()["detail"]
    not_supervisor = post(ann, ok2, {"decisions": {str(project.pk): "absent"}, "adjudicate": True})
    assert not_supervisor.status_code == 403

    report = client_for(sue).get(f"/api/projects/{project.pk}/audit/").json()
    assert report["objects_judged"] == 3
    assert report["confusion"] == {"tp": 1, "fp": 1, "fn": 1, "tn": 0}
    assert report["model_vs_inspectors"]["precision"] == pytest.approx(0.5)
    pair = report["inspectors"]["pairs"][0]
    assert (pair["a"], pair["b"], pair["objects"]) == ("ann", "bob", 3)
    assert pair["agreement"] == pytest.approx(2 / 3)
    assert report["line_prevalence"] == pytest.approx(2 / 3)

    empty = client_for(sue).get(f"/api/projects/{project.pk}/audit/?since=2999-01-01T00:00:00Z")
    assert empty.json()["objects_judged"] == 0 and empty.json()["unsure_share"] is None
    bad = client_for(sue).get(f"/api/projects/{project.pk}/audit/?since=yesterday")
    assert bad.status_code == 400


@pytest.mark.django_db
def test_the_queue_holds_every_ng_and_a_stable_sample_of_ok(
    records, project, make_user, client_for
):
    ann = make_user("ann", "inspector", project)
    project.audit_ok_sample = 0.0
    project.save()
    queue = client_for(ann).get("/api/review-queue/").json()["results"]
    assert {r["id"] for r in queue} == {records[0].pk, records[2].pk}
    assert all("verdict" in r for r in queue)
    project.audit_ok_sample = 1.0
    project.save()
    blind = client_for(ann).get("/api/review-queue/?blind=1").json()
    assert len(blind["results"]) == 4 and all("verdict" not in r for r in blind["results"])
    client_for(ann).post(
        f"/api/records/{records[0].pk}/decisions/", {"confirm": True}, format="json"
    )
    again = client_for(ann).get("/api/review-queue/").json()["results"]
    assert records[0].pk not in {r["id"] for r in again}  # judged: off this inspector's queue


def _post_decision(client, record, body):
    return client.post(f"/api/records/{record.pk}/decisions/", body, format="json")


@pytest.mark.django_db
def test_a_blind_decision_cannot_confirm_the_models_verdict(
    records, project, make_user, client_for
):
    ann = client_for(make_user("ann", "inspector", project))
    refused = _post_decision(ann, records[0], {"confirm": True, "blind": True})
    assert refused.status_code == 400
    assert "cannot confirm" in refused.json()["errors"]["blind"][0]
    assert not InspectorDecision.objects.exists()
    # Blind, the inspector says what they see; sighted, confirming stays one click.
    blind = _post_decision(
        ann, records[0], {"decisions": {str(project.pk): "present"}, "blind": True}
    )
    sighted = _post_decision(ann, records[2], {"confirm": True})
    assert (blind.status_code, sighted.status_code) == (201, 201)
    stored = InspectorDecision.objects.order_by("pk")
    assert [(d.record_id, d.decision, d.blind) for d in stored] == [
        (records[0].pk, "present", True),
        (records[2].pk, "present", False),
    ]


@pytest.mark.django_db
def test_an_inspector_sees_the_others_decisions_only_after_judging(
    records, project, make_user, client_for, owner
):
    people = {
        name: make_user(name, role, project)
        for name, role in (("ann", "inspector"), ("bob", "inspector"), ("sue", "supervisor"))
    }
    client = {name: client_for(user) for name, user in people.items()}
    client["owner"] = client_for(owner)
    record = records[0]
    url = f"/api/records/{record.pk}/decisions/"

    def seen(name):
        answer = client[name].get(url)
        assert answer.status_code == 200
        return sorted((d["inspector"], d["decision"]) for d in answer.json())

    def on_page(name):
        web = Client()
        web.force_login(people.get(name) or owner)
        page = web.get(f"/records/{record.pk}/")
        assert page.status_code == 200
        return sorted((d.inspector.username, d.decision) for d in page.context["decisions"])

    assert _post_decision(client["ann"], record, {"confirm": True}).status_code == 201
    assert seen("bob") == on_page("bob") == []  # still to judge: ann's would anchor him
    assert on_page("sue") == [("ann", "present")]
    assert seen("ann") == [("ann", "present")]
    assert seen("sue") == [("ann", "present")]  # supervisors settle ties: they see all
    assert seen("owner") == [("ann", "present")]  # does not judge, so cannot be anchored
    body = {"decisions": {str(project.pk): "absent"}, "blind": True}
    assert _post_decision(client["bob"], record, body).status_code == 201
    assert seen("bob") == on_page("bob") == [("ann", "present"), ("bob", "absent")]
    assert seen("ann") == [("ann", "present"), ("bob", "absent")]


@pytest.fixture
def two_types(records, project, other_project):
    """records[0] checked for both defect types."""
    records[0].projects.add(other_project)
    return records[0]


@pytest.mark.django_db
def test_judging_a_defect_type_one_may_not_judge_on_a_visible_object_is_refused(
    two_types, project, other_project, make_user, client_for
):
    ivy = make_user("ivy", "inspector", project)
    Membership.objects.create(user=ivy, project=other_project, role="engineer")
    client = client_for(ivy)
    assert client.get(f"/api/records/{two_types.pk}/").status_code == 200  # ivy sees it
    for decisions in (
        {other_project.pk: "present"},
        {project.pk: "absent", other_project.pk: "absent"},
    ):
        body = {"decisions": {str(k): v for k, v in decisions.items()}}
        refused = _post_decision(client, two_types, body)
        assert refused.status_code == 403
        assert (
            refused.json()["detail"] == f"You may not judge defect types [{other_project.pk}] here."
        )
    assert not InspectorDecision.objects.exists()  # nothing stored, not even the allowed one
    allowed = _post_decision(client, two_types, {"decisions": {str(project.pk): "absent"}})
    assert allowed.status_code == 201


@pytest.mark.django_db
def test_decisions_for_defect_types_the_object_was_not_checked_for_are_refused(
    records, project, other_project, make_user, client_for
):
    ann = make_user("ann", "inspector", project)
    Membership.objects.create(user=ann, project=other_project, role="inspector")
    client = client_for(ann)
    for key in ("999999", str(other_project.pk)):  # no such project; not checked for it
        body = {"decisions": {key: "present", str(project.pk): "present"}}
        refused = _post_decision(client, records[0], body)
        assert refused.status_code == 400
        assert refused.json()["errors"]["decisions"] == [
            f"The object was not checked for [{int(key)}]."
        ]
    not_an_id = _post_decision(client, records[0], {"decisions": {"crack": "present"}})
    assert not_an_id.status_code == 400
    assert "defect project ids" in not_an_id.json()["errors"]["decisions"][0]
    assert not InspectorDecision.objects.exists()


@pytest.mark.django_db
def test_another_projects_records_are_not_sent_to_this_projects_labeling(
    records, project, other_project, make_user, client_for
):
    """Records the supervisor may see but that were checked for another defect type only, and
    records of a project they are no member of, add no image: only this project's do."""
    sue = make_user("sue", "supervisor", project)
    Membership.objects.create(user=sue, project=other_project, role="supervisor")
    hidden_project = Project.objects.create(name="Scuff", slug="scuff")
    mine, theirs, hidden = records[0], records[1], records[3]
    theirs.projects.set([other_project])
    hidden.projects.set([hidden_project])
    for record in (mine, theirs, hidden):
        RecordView.objects.create(
            record=record, camera="cam1", file=save_bytes(f"v/{record.pk}.jpg", jpeg(record.pk))
        )
    url = f"/api/projects/{project.pk}/audit/send-to-labeling/"
    sent = client_for(sue).post(url, {"records": [theirs.pk, hidden.pk, mine.pk]}, format="json")
    assert sent.status_code == 200
    result = sent.json()
    assert result["unknown_records"] == [theirs.pk, hidden.pk]
    assert [a["record"] for a in result["added"]] == [mine.pk]
    assert "2 record(s) not found for this defect type" in result["message"]
    assert Image.objects.filter(project=project).count() == 1
    assert not Image.objects.filter(project__in=[other_project, hidden_project]).exists()
