"""Audit figures through the API on one constructed line: diagnosis, prevalence, trends,
shift and lot reports (JSON and CSV), the disagreement gallery and sending it to labeling,
ambiguity, and bad or empty input."""

import csv
import io
from datetime import date

import pytest

from annotation.models import Image
from inspection.audit_reports import shift_of
from inspection.models import InspectionRecord, InspectorDecision
from tests.inspection.conftest import at as _at


@pytest.mark.django_db
def test_diagnosis_sets_human_model_and_production_error_side_by_side(line, project, client_for):
    body = client_for(line["sue"]).get(f"/api/projects/{project.pk}/diagnosis/").json()
    errors = body["errors"]
    # ann agrees with bob or the adjudication on 5 of 5, bob on 4 of 5.
    assert errors["human"] == pytest.approx(1 / 10)
    assert errors["training"] == pytest.approx(0.1)
    assert errors["validation"] == pytest.approx(0.2)
    # OK stratum: 4 objects, 1 of 2 judged wrong; NG stratum: 3 objects, 1 of 3 wrong.
    assert errors["production"] == pytest.approx((4 * 0.5 + 3 * (1 / 3)) / 7)
    assert body["production"]["error_in_sample"] == pytest.approx(2 / 5)
    assert body["production"]["serving_version_only"] is True
    assert body["human"]["disagreement"] == pytest.approx(1 / 5)
    verdict = body["diagnosis"]
    assert verdict["outcome"] == "data_mismatch"
    assert verdict["gaps"]["data_mismatch"] == pytest.approx(3 / 7 - 0.2)
    assert "42.9 %" in verdict["message"] and "any of its views" in body["levels"]


@pytest.mark.django_db
def test_prevalence_weights_the_ok_sample_and_reweights_precision(line, project, client_for):
    body = client_for(line["sue"]).get(f"/api/projects/{project.pk}/prevalence/").json()
    # OK: 1 of 2 judged defective, 4 on the line; NG: 2 of 3, 3 on the line.
    assert body["line"]["prevalence"] == pytest.approx(4 / 7)
    assert body["line"]["in_sample"] == pytest.approx(3 / 5)
    assert body["training_set"]["prevalence"] == pytest.approx(14 / 30)
    assert (body["validation"]["tpr"], body["validation"]["fpr"]) == pytest.approx((0.8, 0.2))
    at_line = body["figures"]["at_line"]
    assert at_line["precision"] == pytest.approx(3.2 / 3.8)
    assert at_line["escape_rate"] == pytest.approx(0.2 * 4 / 7)
    assert body["figures"]["validation_as_measured"]["precision"] == pytest.approx(0.8)
    assert "57.1 %" in body["message"]


@pytest.mark.django_db
def test_daily_trends_count_each_local_day(line, project, client_for):
    days = client_for(line["ann"]).get(f"/api/projects/{project.pk}/audit/trends/").json()["days"]
    assert [d["date"] for d in days] == ["2024-03-01", "2024-03-02"]
    first, second = days
    assert (first["objects"], first["defect_ng"], first["judged"]) == (3, 2, 3)
    assert first["agreement"] == pytest.approx(1 / 3)
    assert first["inspector_agreement"] == pytest.approx(2 / 3)
    assert (second["objects"], second["judged"], second["agreement"]) == (4, 2, 1.0)
    assert second["defect_ng_rate"] == pytest.approx(1 / 4)


def test_a_night_shift_belongs_to_the_day_it_starts():
    assert shift_of(_at(2, 2))[:2] == (date(2024, 3, 1), "night")
    assert shift_of(_at(1, 23))[:2] == (date(2024, 3, 1), "night")
    assert shift_of(_at(1, 6))[1] == "early" and shift_of(_at(1, 14))[1] == "late"


@pytest.mark.django_db
def test_shift_and_lot_reports_count_escapes_found_by_inspectors(line, project, client_for):
    client = client_for(line["ann"])
    shifts = client.get(f"/api/projects/{project.pk}/audit/reports/?by=shift").json()
    rows = {r["group"]: r for r in shifts["rows"]}
    assert list(rows) == [
        "2024-03-01 early 06:00-14:00",
        "2024-03-01 late 14:00-22:00",
        "2024-03-01 night 22:00-06:00",
        "2024-03-02 early 06:00-14:00",
    ]
    night = rows["2024-03-01 night 22:00-06:00"]
    assert (night["objects"], night["judged"], night["escapes"], night["agreement"]) == (
        2,
        2,
        1,
        0.5,
    )
    assert rows["2024-03-01 late 14:00-22:00"]["false_rejects"] == 1
    assert shifts["total"]["objects"] == 7 and shifts["total"]["escapes"] == 1

    lots = client.get(f"/api/projects/{project.pk}/audit/reports/?by=lot").json()["rows"]
    assert [(r["group"], r["objects"], r["escapes"]) for r in lots] == [
        ("A", 2, 0),
        ("B", 3, 1),
        ("(no lot)", 2, 0),
    ]
    assert lots[0]["ng_rate"] == 1.0

    response = client.get(f"/api/projects/{project.pk}/audit/reports/?by=lot&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["group"] for r in table] == ["A", "B", "(no lot)"]
    assert table[1]["escapes"] == "1" and table[0]["ng_rate"] == "1.0000"


@pytest.mark.django_db
def test_the_gallery_shows_disagreements_and_sends_their_images_to_labeling(
    line, project, client_for
):
    r2, r3 = line["records"][1], line["records"][2]
    gallery = client_for(line["ann"]).get(f"/api/projects/{project.pk}/audit/disagreements/")
    body = gallery.json()
    assert [(i["record"], i["kind"]) for i in body["results"]] == [
        (r3.pk, "escape"),
        (r2.pk, "false_reject"),
    ]
    views = body["results"][0]["views"]
    assert views[0]["image_url"].endswith(f"/records/{r3.pk}/views/{views[0]['id']}/")
    assert views[1]["image_url"] is None  # pruned

    url = f"/api/projects/{project.pk}/audit/send-to-labeling/"
    refused = client_for(line["ann"]).post(url, {"records": [r3.pk]}, format="json")
    assert refused.status_code == 403 and "supervisor" in refused.json()["detail"]
    sent = client_for(line["sue"]).post(url, {"records": [r3.pk, r2.pk, 999999]}, format="json")
    assert sent.status_code == 200
    result = sent.json()
    assert len(result["added"]) == 2 and result["unknown_records"] == [999999]
    assert result["skipped"] == [
        {
            "record": r3.pk,
            "camera": "cam2",
            "reason": "the image was removed by the retention policy",
        }
    ]
    assert "removed by the retention policy" in result["message"]
    image = Image.objects.get(pk=result["added"][0]["image"])
    assert image.project == project and image.labels.count() == 0  # waits to be labelled
    assert image.metadata["source_record"] == r3.pk
    assert image.metadata["reason"] == "audit disagreement"
    assert (image.metadata["camera"], image.metadata["station_name"]) == ("cam1", "Line A")
    again = client_for(line["sue"]).post(url, {"records": [r3.pk]}, format="json").json()
    assert again["added"] == [] and len(again["already_in_project"]) == 1
    listed = client_for(line["ann"]).get(f"/api/projects/{project.pk}/audit/disagreements/")
    assert listed.json()["results"][0]["sent_to_labeling"] is True
    empty = client_for(line["sue"]).post(url, {"records": []}, format="json")
    assert empty.status_code == 400


@pytest.mark.django_db
def test_the_report_shows_ambiguity_with_and_without_unsure_objects(project, make_user, client_for):
    ann = make_user("ann", "inspector", project)
    bob = make_user("bob", "inspector", project)
    # Model NG on both; one object confirmed, one a tie (unsure until adjudicated).
    for decisions in (("present", "present"), ("present", "unsure")):
        record = InspectionRecord.objects.create(
            captured_at=_at(1, 8),
            verdict="ng",
            result={"verdict": "ng", "defects": [{"project": project.pk}], "models": []},
        )
        record.projects.set([project])
        for user, decision in zip((ann, bob), decisions, strict=True):
            InspectorDecision.objects.create(
                record=record, project=project, inspector=user, decision=decision
            )
    report = client_for(ann).get(f"/api/projects/{project.pk}/audit/").json()["ambiguity"]
    assert report["unsure_decision_share"] == pytest.approx(1 / 4)
    assert report["unsure_object_share"] == pytest.approx(1 / 2)
    assert report["without_unsure"]["precision"] == 1.0
    assert report["without_unsure"]["objects"] == 1
    assert report["unsure_as_absent"]["precision"] == pytest.approx(0.5)
    assert report["unsure_as_present"]["precision"] == 1.0


@pytest.mark.django_db
def test_empty_ranges_unknown_stations_and_no_decisions_answer_clearly(
    project, make_user, client_for
):
    sue = make_user("sue", "supervisor", project)
    client = client_for(sue)
    base = f"/api/projects/{project.pk}"
    for path in ("diagnosis/", "prevalence/", "audit/trends/", "audit/disagreements/"):
        assert client.get(f"{base}/{path}").status_code == 200, path
    diagnosis = client.get(f"{base}/diagnosis/").json()
    assert diagnosis["diagnosis"]["outcome"] == "insufficient_data"
    assert diagnosis["errors"] == {
        "human": None,
        "training": None,
        "validation": None,
        "production": None,
    }
    assert "No trained model" in client.get(f"{base}/prevalence/").json()["message"]
    report = client.get(f"{base}/audit/reports/?by=lot&format=csv")
    assert report.status_code == 200 and report.content.decode().startswith("group,")
    backwards = client.get(f"{base}/diagnosis/?since=2024-03-02&until=2024-03-01")
    assert backwards.status_code == 400 and "empty" in backwards.json()["detail"]
    unknown = client.get(f"{base}/audit/trends/?station=424242")
    assert unknown.status_code == 404 and "424242" in unknown.json()["detail"]
    assert client.get(f"{base}/audit/reports/?by=week").status_code == 400
    assert client.get(f"{base}/prevalence/?since=last-tuesday").status_code == 400


@pytest.mark.django_db
def test_the_printable_report_lists_each_group_with_print_styles(line, client):
    client.force_login(line["ann"])
    page = client.get("/audit/report/?by=lot")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Audit report by lot" in html and "(no lot)" in html
    assert "format=csv" in html and "window.print()" in html
    bad = client.get("/audit/report/?since=2024-03-02&until=2024-03-01")
    assert bad.status_code == 400 and "range is empty" in bad.content.decode()
