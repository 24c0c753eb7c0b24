"""Inspector decisions on inspected objects and the model-against-inspector figures per defect
type (the arithmetic lives in audit_metrics.py; what to judge next in audit_queue.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import transaction
from rest_framework.exceptions import PermissionDenied, ValidationError

from defect_platform.core.access import can
from inspection import audit_metrics
from inspection.models import InspectionRecord, InspectorDecision


def model_said(record: InspectionRecord, project_id: int) -> str:
    found = any(d["project"] == project_id for d in record.result.get("defects", []))
    return audit_metrics.PRESENT if found else audit_metrics.ABSENT


def decide(
    user, record, decisions: dict[int, str] | None, confirm: bool, blind: bool, adjudicate: bool
) -> list[InspectorDecision]:
    """Store `user`'s decisions (or, with `confirm`, the model's verdict as theirs) for the
    record's defect types the user may judge."""
    if confirm and blind:
        # Confirming takes the model's verdict, which a blind inspector did not see: stored as
        # blind it would count as independent agreement and hide the anchoring it measures.
        raise ValidationError(
            {
                "blind": "A blind decision cannot confirm the model's verdict: give present, "
                "absent or unsure per defect type."
            }
        )
    projects = {p.pk: p for p in record.projects.all()}
    capability = "adjudicate" if adjudicate else "decide"
    allowed = {pk for pk, p in projects.items() if can(user, p, capability)}
    if not allowed:
        raise PermissionDenied(
            "Judging inspections needs a supervisor role."
            if adjudicate
            else "Judging inspections needs an inspector or supervisor role."
        )
    if confirm:
        decisions = {pk: model_said(record, pk) for pk in allowed}
    unknown = set(decisions or {}) - set(projects)
    if unknown:
        raise ValidationError({"decisions": f"The object was not checked for {sorted(unknown)}."})
    refused = set(decisions or {}) - allowed
    if refused:
        raise PermissionDenied(f"You may not judge defect types {sorted(refused)} here.")
    if not decisions:
        raise ValidationError({"decisions": "Give a decision per defect type, or confirm."})
    with transaction.atomic():
        return [
            InspectorDecision.objects.create(
                record=record,
                project_id=pk,
                inspector=user,
                decision=value,
                blind=blind,
                adjudication=adjudicate,
            )
            for pk, value in sorted(decisions.items())
        ]


def decisions_for(user, record, visible: set[int] | None):
    """The decisions on `record` that `user` may read, of the defect types in `visible` (None:
    all). An inspector who has not judged a defect type of the object yet sees nobody's
    decision on it, as blind mode hides the model's verdict, so the first judgement does not
    anchor the next; supervisors, those who judged it and members who do not judge see all."""
    rows = record.decisions.select_related("inspector")
    if visible is not None:
        rows = rows.filter(project_id__in=visible)
    judged = set(rows.filter(inspector=user).values_list("project_id", flat=True))
    withheld = [
        p.pk
        for p in record.projects.all()
        if p.pk not in judged and can(user, p, "decide") and not can(user, p, "adjudicate")
    ]
    return rows.exclude(project_id__in=withheld)


def latest_decisions(records, project_id: int) -> dict[int, dict]:
    """{record id: {"by": {inspector: decision}, "adjudicated": decision or None}}."""
    out: dict[int, dict] = {}
    rows = InspectorDecision.objects.filter(project_id=project_id, record__in=records)
    for row in rows.select_related("inspector").order_by("created_at", "pk"):
        entry = out.setdefault(row.record_id, {"by": {}, "adjudicated": None})
        if row.adjudication:
            entry["adjudicated"] = row.decision
        else:
            entry["by"][row.inspector.username] = row.decision
    return out


@dataclass(frozen=True)
class Judged:
    """One inspected object that inspectors judged for one defect type."""

    record_id: int
    captured_at: datetime
    station_id: int | None
    lot: str
    verdict: str  # the record's verdict over every defect type: ok, ng, not_inspectable
    model: str  # what the model said for this defect type: present or absent
    model_version: int | None
    by: dict[str, str]
    adjudicated: str | None
    consensus: str


def judged_objects(project, records) -> list[Judged]:
    """The objects of `records` checked for `project` that inspectors judged, oldest first."""
    records = records.filter(projects=project)
    decisions = latest_decisions(records, project.pk)
    rows = InspectionRecord.objects.filter(pk__in=list(decisions)).only(
        "pk", "captured_at", "station_id", "lot", "verdict", "result"
    )
    out = []
    for record in sorted(rows, key=lambda r: (r.captured_at, r.pk)):
        entry = decisions[record.pk]
        version = next(
            (
                m.get("model_version")
                for m in record.result.get("models", [])
                if m.get("project") == project.pk
            ),
            None,
        )
        out.append(
            Judged(
                record_id=record.pk,
                captured_at=record.captured_at,
                station_id=record.station_id,
                lot=record.lot,
                verdict=record.verdict,
                model=model_said(record, project.pk),
                model_version=version,
                by=entry["by"],
                adjudicated=entry["adjudicated"],
                consensus=audit_metrics.consensus(list(entry["by"].values()), entry["adjudicated"]),
            )
        )
    return out


def anchoring(project, records) -> dict:
    """How often inspectors agree with the model when they judged blind and when they saw its
    verdict (each inspector's latest decision per object; unsure left out). Sighted agreement
    well above blind agreement means the verdict anchors inspectors, and the figures measured
    on sighted decisions flatter the model."""
    latest = {}
    rows = InspectorDecision.objects.filter(
        project_id=project.pk, record__in=records.filter(projects=project), adjudication=False
    ).order_by("created_at", "pk")
    for row in rows.values("record_id", "inspector_id", "decision", "blind"):
        latest[(row["record_id"], row["inspector_id"])] = row
    said = {
        r.pk: model_said(r, project.pk)
        for r in InspectionRecord.objects.filter(pk__in={k for k, _ in latest}).only("result")
    }
    out = {}
    for name, blind in (("blind", True), ("sighted", False)):
        chosen = [
            r
            for r in latest.values()
            if r["blind"] == blind and r["decision"] != audit_metrics.UNSURE
        ]
        agree = sum(r["decision"] == said[r["record_id"]] for r in chosen)
        out[name] = {
            "decisions": len(chosen),
            "agree_with_model": agree / len(chosen) if chosen else None,
        }
    shares = [out[k]["agree_with_model"] for k in ("sighted", "blind")]
    out["gap"] = shares[0] - shares[1] if None not in shares else None
    return out


def model_figures(objects: list[Judged]) -> dict:
    """The model against the consensus over `objects` (unsure objects left out), with kappa."""
    model = [o.model == audit_metrics.PRESENT for o in objects]
    truth = [o.consensus for o in objects]
    counts = audit_metrics.confusion(model, truth)
    decided = [(m, t) for m, t in zip(model, truth, strict=True) if t != audit_metrics.UNSURE]
    kappa = audit_metrics.cohen_kappa(
        [audit_metrics.PRESENT if m else audit_metrics.ABSENT for m, _ in decided],
        [t for _, t in decided],
    )
    return {"confusion": counts} | audit_metrics.precision_recall(counts) | {"kappa": kappa}


def ambiguity(objects: list[Judged]) -> dict:
    """How often inspectors could not decide, and the model's figures with the ambiguous
    objects left out, counted as defective, and counted as defect-free (the true figures lie
    between the last two)."""
    decisions = [d for o in objects for d in o.by.values()]
    unsure_decisions = sum(d == audit_metrics.UNSURE for d in decisions)
    unsure_objects = sum(o.consensus == audit_metrics.UNSURE for o in objects)

    def settled(value: str) -> list[Judged]:
        return [
            replace(o, consensus=value) if o.consensus == audit_metrics.UNSURE else o
            for o in objects
        ]

    return {
        "decisions": len(decisions),
        "unsure_decisions": unsure_decisions,
        "unsure_decision_share": unsure_decisions / len(decisions) if decisions else None,
        "objects": len(objects),
        "unsure_objects": unsure_objects,
        "unsure_object_share": unsure_objects / len(objects) if objects else None,
        "without_unsure": model_figures(objects),
        "unsure_as_present": model_figures(settled(audit_metrics.PRESENT)),
        "unsure_as_absent": model_figures(settled(audit_metrics.ABSENT)),
    }


def inspector_figures(objects: list[Judged]) -> dict:
    ratings = [o.by for o in objects]
    sizes = Counter(len(r) for r in ratings if len(r) >= 2)
    common = sizes.most_common(1)[0][0] if sizes else None
    fleiss = (
        audit_metrics.fleiss_kappa([list(r.values()) for r in ratings if len(r) == common])
        if common
        else None
    )
    return audit_metrics.inspector_pairs(ratings) | {"fleiss_kappa": fleiss}


def report(project, records) -> dict:
    """The model against the inspectors' consensus, and inspectors against each other, for
    one defect type over `records` (those the project checked).

    `line_prevalence` is the confirmed-defect share among the judged objects; the review queue
    holds every NG and only a sample of OK objects, so the prevalence endpoint's estimate
    (weighted by how many OK and NG objects the line made) is the one to trust for the line."""
    objects = judged_objects(project, records)
    figures = model_figures(objects)
    unsure = sum(o.consensus == audit_metrics.UNSURE for o in objects)
    confirmed_present = sum(o.consensus == audit_metrics.PRESENT for o in objects)
    return {
        "project": project.pk,
        "defect_type": project.name,
        "objects_judged": len(objects),
        "confusion": figures.pop("confusion"),
        "model_vs_inspectors": figures,
        "inspectors": inspector_figures(objects),
        "unsure_share": unsure / len(objects) if objects else None,
        "line_prevalence": confirmed_present / (len(objects) - unsure)
        if len(objects) > unsure
        else None,
        "ambiguity": ambiguity(objects),
        "anchoring": anchoring(project, records),
    }
