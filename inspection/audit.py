"""Inspector decisions on inspected objects, the review queue, and the model-against-inspector
figures per defect type (the arithmetic lives in audit_metrics.py)."""

from __future__ import annotations

import hashlib
from collections import Counter

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


def sampled(record_id: int, share: float) -> bool:
    """Whether an OK record is in the audit sample: a stable draw from its id, so every
    inspector and every page load sees the same sample."""
    digest = hashlib.sha256(f"audit-{record_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def review_queue(user, records, limit: int = 50) -> list[InspectionRecord]:
    """Every NG and the sampled OK records the user may judge and has not judged yet."""
    decided = InspectorDecision.objects.filter(inspector=user).values("record_id")
    out = []
    for record in records.exclude(pk__in=decided).prefetch_related("projects").order_by("-pk"):
        projects = [p for p in record.projects.all() if can(user, p, "decide")]
        if not projects:
            continue
        if record.verdict == "ok" and not any(
            sampled(record.pk, p.audit_ok_sample) for p in projects
        ):
            continue
        out.append(record)
        if len(out) >= limit:
            break
    return out


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


def report(project, records) -> dict:
    """The model against the inspectors' consensus, and inspectors against each other, for
    one defect type over `records` (those the project checked)."""
    records = records.filter(projects=project)
    decisions = latest_decisions(records, project.pk)
    verdicts = {r.pk: model_said(r, project.pk) for r in records.filter(pk__in=list(decisions))}
    model, truth, ratings = [], [], []
    for record_id, entry in sorted(decisions.items()):
        agreed = audit_metrics.consensus(list(entry["by"].values()), entry["adjudicated"])
        model.append(verdicts[record_id] == audit_metrics.PRESENT)
        truth.append(agreed)
        ratings.append(entry["by"])
    counts = audit_metrics.confusion(model, truth)
    decided = [(m, t) for m, t in zip(model, truth, strict=True) if t != audit_metrics.UNSURE]
    kappa = audit_metrics.cohen_kappa(
        [audit_metrics.PRESENT if m else audit_metrics.ABSENT for m, _ in decided],
        [t for _, t in decided],
    )
    sizes = Counter(len(r) for r in ratings if len(r) >= 2)
    common = sizes.most_common(1)[0][0] if sizes else None
    fleiss = (
        audit_metrics.fleiss_kappa([list(r.values()) for r in ratings if len(r) == common])
        if common
        else None
    )
    unsure = sum(t == audit_metrics.UNSURE for t in truth)
    confirmed_present = sum(t == audit_metrics.PRESENT for t in truth)
    return {
        "project": project.pk,
        "defect_type": project.name,
        "objects_judged": len(truth),
        "confusion": counts,
        "model_vs_inspectors": audit_metrics.precision_recall(counts) | {"kappa": kappa},
        "inspectors": audit_metrics.inspector_pairs(ratings) | {"fleiss_kappa": fleiss},
        "unsure_share": unsure / len(truth) if truth else None,
        "line_prevalence": confirmed_present / (len(truth) - unsure)
        if len(truth) > unsure
        else None,
    }
