"""Every audit figure as CSV (`?format=csv` or `Accept: text/csv`): a header row, then the
figure's rows, checked on the constructed line of conftest.py."""

import csv
import io

import pytest

from inspection import audit_csv


def _table(client, url: str, **headers) -> tuple[list[str], list[dict]]:
    answer = client.get(url, **headers)
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"].startswith("text/csv")
    assert "attachment" in answer["Content-Disposition"]
    text = answer.content.decode()
    return next(csv.reader(io.StringIO(text))), list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def api(line, client_for):
    return client_for(line["sue"])


@pytest.mark.django_db
def test_trends_as_csv_have_one_row_per_day(line, project, api):
    columns, rows = _table(api, f"/api/projects/{project.pk}/audit/trends/?format=csv")
    assert columns == audit_csv.TRENDS.columns
    assert [(r["date"], r["objects"], r["judged"]) for r in rows] == [
        ("2024-03-01", "3", "3"),
        ("2024-03-02", "4", "2"),
    ]
    assert (rows[0]["agreement"], rows[0]["inspector_agreement"]) == ("0.3333", "0.6667")


@pytest.mark.django_db
def test_the_report_as_csv_lists_model_and_inspector_comparisons(line, project, api):
    columns, rows = _table(api, f"/api/projects/{project.pk}/audit/", HTTP_ACCEPT="text/csv")
    assert columns[:10] == ["comparison", "a", "b", "objects", "agreement", "kappa"] + [
        "tp",
        "fp",
        "fn",
        "tn",
    ]
    by = {r["comparison"]: r for r in rows}
    model = by["model_vs_consensus"]
    # Judged: r1 P/P, r2 P/A, r3 A/P (adjudicated), r4 A/A, r7 P/P.
    assert [model[k] for k in ("tp", "fp", "fn", "tn", "objects")] == ["2", "1", "1", "1", "5"]
    assert (model["precision"], model["recall"]) == ("0.6667", "0.6667")
    # ann P A P A P, bob P A A A P: po 4/5, pe (3*2 + 2*3)/25, kappa 0.32/0.52.
    pair = by["inspector_pair"]
    assert (pair["a"], pair["b"], pair["agreement"]) == ("ann", "bob", "0.8000")
    assert pair["kappa"] == f"{0.32 / 0.52:.4f}"
    assert by["inspectors_fleiss"]["kappa"] == "0.6000"
    assert "model_vs_consensus_unsure_as_present" in by


@pytest.mark.django_db
def test_diagnosis_and_prevalence_as_csv(line, project, api):
    columns, rows = _table(api, f"/api/projects/{project.pk}/diagnosis/?format=csv")
    assert columns == audit_csv.DIAGNOSIS.columns
    errors = {r["figure"]: r for r in rows if r["kind"] == "error"}
    assert errors["human_error"]["value"] == "0.1000"
    assert (errors["training_error"]["value"], errors["training_error"]["level"]) == (
        "0.1000",
        "images",
    )
    assert errors["production_error"]["value"] == f"{(4 * 0.5 + 3 / 3) / 7:.4f}"
    gaps = {r["figure"]: r["value"] for r in rows if r["kind"] == "gap"}
    assert gaps["data_mismatch"] == f"{3 / 7 - 0.2:.4f}"
    inspectors = {r["inspector"]: r for r in rows if r["kind"] == "inspector"}
    assert (inspectors["bob"]["compared"], inspectors["bob"]["wrong"]) == ("5", "1")
    (outcome,) = [r for r in rows if r["kind"] == "outcome"]
    assert outcome["value"] == "data_mismatch" and "42.9 %" in outcome["note"]

    columns, rows = _table(api, f"/api/projects/{project.pk}/prevalence/?format=csv")
    assert columns == audit_csv.PREVALENCE.columns
    by = {r["scenario"]: r for r in rows}
    assert list(by) == ["validation_as_measured", "at_training_set", "at_line"]
    assert by["at_line"]["prevalence"] == f"{4 / 7:.4f}"
    assert by["at_line"]["precision"] == f"{3.2 / 3.8:.4f}"
    assert by["at_training_set"]["prevalence"] == f"{14 / 30:.4f}"


@pytest.mark.django_db
def test_disagreements_as_csv_name_each_inspector_and_image(line, project, api):
    r2, r3 = line["records"][1], line["records"][2]
    columns, rows = _table(api, f"/api/projects/{project.pk}/audit/disagreements/?format=csv")
    assert columns[:10] == audit_csv.DISAGREEMENTS.columns
    assert {"decisions.ann", "decisions.bob"} <= set(columns)
    assert [(r["record"], r["kind"]) for r in rows] == [
        (str(r3.pk), "escape"),
        (str(r2.pk), "false_reject"),
    ]
    escape = rows[0]
    assert (escape["decisions.ann"], escape["decisions.bob"]) == ("present", "absent")
    assert escape["adjudicated"] == "present" and escape["sent_to_labeling"] == "false"
    assert escape["image_urls"].endswith("/") and ";" not in escape["image_urls"]  # one kept


@pytest.mark.django_db
def test_the_challenger_as_csv_has_a_row_per_candidate(line, project, api):
    # The candidate finds r1 and r3 and passes r2 and r4: right on all four judged objects,
    # where production is wrong on r2 (false reject) and r3 (escape).
    for record, found in zip(line["records"][:4], (True, False, True, False), strict=True):
        record.result["shadow"] = [
            {"project": project.pk, "model_version": 4242, "defective": found}
        ]
        record.save()
    columns, rows = _table(api, f"/api/projects/{project.pk}/challenger/?format=csv")
    assert columns == audit_csv.CHALLENGER.columns
    (row,) = rows
    assert (row["model_version"], row["objects"], row["both_ng"], row["agreement"]) == (
        "4242",
        "4",
        "1",
        "0.5000",
    )
    assert (row["champion.fn"], row["challenger.fn"], row["challenger.precision"]) == (
        "1",
        "0",
        "1.0000",
    )
    assert row["recommend_promotion"] == "true" and row["advice"].startswith("promote")


@pytest.mark.django_db
def test_every_figure_has_a_header_row_even_without_data(project, make_user, client_for):
    client = client_for(make_user("sue", "supervisor", project))
    base = f"/api/projects/{project.pk}"
    for path, table in (
        ("audit/", audit_csv.REPORT),
        ("audit/trends/", audit_csv.TRENDS),
        ("audit/disagreements/", audit_csv.DISAGREEMENTS),
        ("audit/reports/?by=shift", audit_csv.grouped("shift")),
        ("audit/ties/", audit_csv.TIES),
        ("diagnosis/", audit_csv.DIAGNOSIS),
        ("prevalence/", audit_csv.PREVALENCE),
        ("challenger/", audit_csv.CHALLENGER),
    ):
        joiner = "&" if "?" in path else "?"
        columns, _ = _table(client, f"{base}/{path}{joiner}format=csv")
        assert columns[: len(table.columns)] == table.columns, path
    bad = client.get(f"{base}/audit/trends/?format=csv&since=yesterday")
    assert bad.status_code == 400 and bad.json()["errors"]["since"]  # errors stay JSON


def test_flatten_makes_dotted_columns_and_one_cell_per_list():
    row = {"a": 1, "b": {"c": 2, "d": {"e": None}}, "f": ["x", "y"], "g": [{"h": 1}]}
    assert audit_csv.flatten(row) == {
        "a": 1,
        "b.c": 2,
        "b.d.e": None,
        "f": "x; y",
        "g": '[{"h": 1}]',
    }
