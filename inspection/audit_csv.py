"""CSV export of every audit figure: `?format=csv` (or `Accept: text/csv`) answers the figure
as a table with a header row instead of JSON.

A `Table` says which rows of a figure's JSON body make its table and the columns that head it
(also when there are no rows); `flatten` turns nested figures into dotted columns
("champion.precision") and columns found only in the rows (one per inspector, say) follow the
declared ones. Errors stay JSON (defect_platform.core.api_errors).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass

from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from inspection import audit_reports

FORMAT = OpenApiParameter("format", str, enum=["json", "csv"], required=False)


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        out = io.StringIO()
        writer = csv.writer(out)
        if isinstance(data, dict) and "rows" in data:
            writer.writerow(data["columns"])
            for row in data["rows"]:
                writer.writerow([_cell(row.get(c)) for c in data["columns"]])
        else:  # a body that is not a table
            writer.writerow(["detail"])
            writer.writerow([(data or {}).get("detail", "")])
        return out.getvalue().encode()


RENDERERS = [JSONRenderer, CSVRenderer]


def _cell(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else value


def flatten(row: dict, prefix: str = "") -> dict:
    """One level of columns: nested dicts become dotted keys, lists one text cell (scalars
    joined by "; ", anything else as JSON)."""
    out = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= flatten(value, f"{name}.")
        elif isinstance(value, list | tuple):
            scalar = all(not isinstance(v, dict | list | tuple) for v in value)
            out[name] = "; ".join(map(str, value)) if scalar else json.dumps(value)
        else:
            out[name] = value
    return out


@dataclass(frozen=True)
class Table:
    name: str  # in the file name
    columns: list[str]
    rows: Callable[[dict], list[dict]]

    def of(self, body: dict) -> dict:
        rows = [flatten(r) for r in self.rows(body)]
        columns = list(self.columns)
        for row in rows:
            columns += [c for c in row if c not in columns]
        return {"columns": columns, "rows": rows}


def respond(request, project, body: dict, table: Table) -> Response:
    """`body` as JSON, or its table as a CSV attachment when CSV was asked for."""
    if request.accepted_renderer.format != CSVRenderer.format:
        return Response(body)
    name = f"audit-{project.slug or project.pk}-{table.name}.csv"
    return Response(
        table.of(body), headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# The tables, one per figure endpoint.

FIGURES = ["precision", "recall", "f1", "agreement", "objects"]
SCENARIO = [
    "prevalence",
    "precision",
    "recall",
    "f1",
    "reject_rate",
    "false_reject_rate",
    "escape_rate",
    "escapes_among_passed",
    "rejects_that_are_good",
]


def grouped(by: str) -> Table:
    return Table(f"by-{by}", audit_reports.COLUMNS, lambda body: body["rows"])


TRENDS = Table(
    "trends",
    ["date", *audit_reports.COLUMNS[2:], "confirmed_ng_rate", "inspector_agreement"],
    lambda body: body["days"],
)


def _model_row(comparison: str, figures: dict) -> dict:
    rest = {k: v for k, v in figures.items() if k != "confusion"}
    return {"comparison": comparison, "a": "model", "b": "consensus"} | figures["confusion"] | rest


def _report_rows(body: dict) -> list[dict]:
    ambiguity = body["ambiguity"]
    rows = [
        _model_row(
            "model_vs_consensus", body["model_vs_inspectors"] | {"confusion": body["confusion"]}
        ),
        _model_row("model_vs_consensus_unsure_as_present", ambiguity["unsure_as_present"]),
        _model_row("model_vs_consensus_unsure_as_absent", ambiguity["unsure_as_absent"]),
    ]
    rows += [{"comparison": "inspector_pair"} | pair for pair in body["inspectors"]["pairs"]]
    rows.append({"comparison": "inspectors_fleiss", "kappa": body["inspectors"]["fleiss_kappa"]})
    return rows


REPORT = Table(
    "report",
    ["comparison", "a", "b", "objects", "agreement", "kappa", "tp", "fp", "fn", "tn"] + FIGURES[:3],
    _report_rows,
)


def _diagnosis_rows(body: dict) -> list[dict]:
    levels = {"human": "objects", "training": "images", "validation": "images"}
    verdict = body["diagnosis"]
    rows = [
        {"figure": f"{k}_error", "kind": "error", "level": levels.get(k, "objects"), "value": v}
        for k, v in body["errors"].items()
    ]
    rows += [{"figure": k, "kind": "gap", "value": v} for k, v in verdict["gaps"].items()]
    rows += [
        {
            "figure": "human_error",
            "kind": "inspector",
            "level": "objects",
            "inspector": r["inspector"],
            "value": r["error"],
            "compared": r["compared"],
            "wrong": r["wrong"],
        }
        for r in body["human"]["inspectors"]
    ]
    rows.append(
        {
            "figure": "diagnosis",
            "kind": "outcome",
            "value": verdict["outcome"],
            "note": verdict["message"],
        }
    )
    return rows


DIAGNOSIS = Table(
    "diagnosis",
    ["figure", "kind", "level", "inspector", "value", "compared", "wrong", "note"],
    _diagnosis_rows,
)


def _prevalence_rows(body: dict) -> list[dict]:
    # Without a model the scenarios have no figures; the line's and the training set's
    # shares are still worth a row.
    known = {
        "at_line": body["line"]["prevalence"],
        "at_training_set": body["training_set"]["prevalence"],
    }
    return [
        {"scenario": name, "prevalence": known.get(name)} | (figures or {})
        for name, figures in body["figures"].items()
    ]


PREVALENCE = Table("prevalence", ["scenario", *SCENARIO], _prevalence_rows)


def _disagreement_rows(body: dict) -> list[dict]:
    return [
        {k: v for k, v in item.items() if k != "views"}
        | {"image_urls": [v["image_url"] for v in item["views"] if v["image_url"]]}
        for item in body["results"]
    ]


DISAGREEMENTS = Table(
    "disagreements",
    [
        "record",
        "captured_at",
        "station",
        "lot",
        "kind",
        "model",
        "consensus",
        "adjudicated",
        "sent_to_labeling",
        "image_urls",
    ],
    _disagreement_rows,
)

CHALLENGER = Table(
    "challenger",
    [
        "model_version",
        "objects",
        "agreement",
        "both_ng",
        "both_ok",
        "candidate_only_ng",
        "production_only_ng",
        "inspector_judged",
        "recommend_promotion",
        "advice",
    ]
    + [
        f"{side}.{k}"
        for side in ("champion", "challenger")
        for k in ("tp", "fp", "fn", "tn", *FIGURES)
    ],
    lambda body: [{"model_version": int(v)} | f for v, f in body["versions"].items()],
)

TIES = Table(
    "ties",
    [
        "record",
        "captured_at",
        "station",
        "lot",
        "verdict",
        "model",
        "counts.present",
        "counts.absent",
        "counts.unsure",
    ],
    lambda body: body["results"],
)
