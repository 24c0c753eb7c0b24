"""Audit: inspector decisions, the review queue, and the model-against-inspector figures,
checked against hand-computed cases and scikit-learn."""

import pytest
from django.utils import timezone
from sklearn.metrics import cohen_kappa_score, precision_score, recall_score

from inspection import audit_metrics as am
from inspection.models import InspectionRecord, Station


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
