"""Inspector-vs-inspector agreement in the audit report: Cohen's kappa per pair and Fleiss'
kappa, through the API, against values worked out by hand below.

Cohen:  kappa = (po - pe) / (1 - pe), po the share of objects both said the same of, pe the
        sum over categories of the product of each inspector's share of that category.
Fleiss: kappa = (P - Pe) / (1 - Pe) with m raters per object, P the mean over objects of
        (sum_j n_j^2 - m) / (m (m - 1)) and Pe the sum over categories of (share of all
        ratings in it)^2.
"""

import pytest
from django.utils import timezone

from inspection.models import InspectionRecord, InspectorDecision

P, A = "present", "absent"
# Six objects; what the model said and what ann, bob and cy said.
MODEL = [P, P, A, P, A, A]
ANN = [P, P, A, A, P, A]
BOB = [P, P, A, P, A, A]
CY = [P, A, A, A, P, A]


@pytest.fixture
def judge(project, make_user, client_for):
    records = []
    for said in MODEL:
        defects = [{"project": project.pk}] if said == P else []
        record = InspectionRecord.objects.create(
            captured_at=timezone.now(),
            verdict="ng" if defects else "ok",
            result={"verdict": "ng" if defects else "ok", "defects": defects, "models": []},
        )
        record.projects.set([project])
        records.append(record)

    def run(decisions: dict[str, list[str]]) -> dict:
        for name, said in decisions.items():
            client = client_for(make_user(name, "inspector", project))
            for record, decision in zip(records, said, strict=True):
                answer = client.post(
                    f"/api/records/{record.pk}/decisions/",
                    {"decisions": {str(project.pk): decision}},
                    format="json",
                )
                assert answer.status_code == 201
        reader = make_user("sue", "supervisor", project)
        return client_for(reader).get(f"/api/projects/{project.pk}/audit/").json()

    return run


@pytest.mark.django_db
def test_two_inspectors_kappas_match_the_hand_computed_values(judge):
    report = judge({"ann": ANN, "cy": CY})
    (pair,) = report["inspectors"]["pairs"]
    # Same on objects 1, 3, 4, 5, 6: po = 5/6. ann 3 P / 3 A, cy 2 P / 4 A:
    # pe = (3*2 + 3*4) / 36 = 1/2, kappa = (5/6 - 1/2) / (1/2) = 2/3.
    assert (pair["a"], pair["b"], pair["objects"]) == ("ann", "cy", 6)
    assert pair["agreement"] == pytest.approx(5 / 6)
    assert pair["kappa"] == pytest.approx(2 / 3)
    # Fleiss, m = 2: per object (n_P, n_A) = (2,0) (1,1) (0,2) (0,2) (2,0) (0,2), so
    # P = (1 + 0 + 1 + 1 + 1 + 1) / 6 = 5/6; shares P 5/12, A 7/12, Pe = 74/144 = 37/72;
    # kappa = (5/6 - 37/72) / (35/72) = 23/35 (below Cohen's: the marginals differ).
    assert report["inspectors"]["fleiss_kappa"] == pytest.approx(23 / 35)
    # The model against the consensus: object 2 is a 1-1 tie (unsure) and left out. On the
    # other five the model says P A P A A, the consensus P A A P A: po = 3/5,
    # pe = (2*2 + 3*3) / 25 = 13/25, kappa = (3/5 - 13/25) / (12/25) = 1/6.
    assert report["model_vs_inspectors"]["kappa"] == pytest.approx(1 / 6)
    assert report["unsure_share"] == pytest.approx(1 / 6)


@pytest.mark.django_db
def test_three_inspectors_pairwise_and_fleiss_kappa_match_the_hand_computed_values(judge):
    report = judge({"ann": ANN, "bob": BOB, "cy": CY})
    pairs = {(p["a"], p["b"]): p for p in report["inspectors"]["pairs"]}
    assert list(pairs) == [("ann", "bob"), ("ann", "cy"), ("bob", "cy")]
    # Every inspector here has pe = 1/2 against the others (ann and bob 3 P / 3 A, cy 2 / 4:
    # 3*3 + 3*3 = 3*2 + 3*4 = 18 of 36), so kappa = 2 po - 1.
    # ann-bob: same on 1, 2, 3, 6: po 4/6, kappa 1/3.
    assert pairs["ann", "bob"]["agreement"] == pytest.approx(4 / 6)
    assert pairs["ann", "bob"]["kappa"] == pytest.approx(1 / 3)
    # ann-cy: same on 1, 3, 4, 5, 6: po 5/6, kappa 2/3.
    assert pairs["ann", "cy"]["kappa"] == pytest.approx(2 / 3)
    # bob-cy: same on 1, 3, 6: po 1/2, kappa 0 (no better than chance).
    assert pairs["bob", "cy"]["kappa"] == pytest.approx(0.0)
    assert all(p["objects"] == 6 for p in pairs.values())
    # Fleiss, m = 3: (n_P, n_A) per object = (3,0) (2,1) (0,3) (1,2) (2,1) (0,3), so
    # P_i = 1, 1/3, 1, 1/3, 1/3, 1 and P = 2/3; shares P 8/18, A 10/18, Pe = 41/81;
    # kappa = (2/3 - 41/81) / (40/81) = 13/40.
    assert report["inspectors"]["fleiss_kappa"] == pytest.approx(13 / 40)


def test_anchoring_compares_blind_and_sighted_agreement_with_the_model(line, client_for, owner):
    # The line: the model said present on r1, r2, r7 and absent on r3, r4. Ann agrees with it
    # on 3 of her 5 decisions (r1, r4, r7), Bob on 4 of 5 (r1, r3, r4, r7). Ann judged blind.
    InspectorDecision.objects.filter(inspector=line["ann"]).update(blind=True)
    project = line["version"].project
    body = client_for(owner).get(f"/api/projects/{project.pk}/audit/").json()["anchoring"]
    assert body["blind"] == {"decisions": 5, "agree_with_model": pytest.approx(3 / 5)}
    assert body["sighted"] == {"decisions": 5, "agree_with_model": pytest.approx(4 / 5)}
    assert body["gap"] == pytest.approx(0.2)
    # No blind decisions at all: the gap cannot be measured, and says so with a null.
    InspectorDecision.objects.update(blind=False)
    body = client_for(owner).get(f"/api/projects/{project.pk}/audit/").json()["anchoring"]
    assert body["blind"] == {"decisions": 0, "agree_with_model": None}
    assert body["gap"] is None
