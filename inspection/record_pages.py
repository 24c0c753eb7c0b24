"""What the records pages show: the filtered list, and one record with its views, stored
masks and boxes, per-defect results, the models behind the verdict (version, snapshot, rule,
runtime), the inspectors' decisions and where the user may send the views to labeling.

Per-defect results, masks and decisions appear only for the defect projects the user belongs
to, as in the records API (verdicts.visible_to); an inspector sees the others' decisions on a
defect type only after judging it (audit.decisions_for).
"""

from __future__ import annotations

from defect_platform.core.access import can
from defect_platform.core.models import Project
from inspection import audit, verdicts
from inspection.access import visible_project_ids
from inspection.audit_api import may_send
from training.models import ModelVersion

PAGE_SIZE = 50


def _projects(ids) -> dict[int, Project]:
    return Project.objects.in_bulk(set(ids))


def _visible_result(record, visible) -> dict:
    # Rows written before a field existed, or by hand, may lack some keys.
    base = {"defects": [], "models": [], "quality": {}, "quality_issues": {}}
    return verdicts.visible_to(base | (record.result or {}), visible)


def list_rows(records, user) -> list[dict]:
    """Each record of a page with the defect types found on it that the user may see."""
    visible = visible_project_ids(user)
    results = [(r, _visible_result(r, visible)) for r in records]
    names = _projects(d["project"] for _, result in results for d in result["defects"])
    return [
        {
            "record": record,
            "defects": [names[d["project"]] for d in result["defects"] if d["project"] in names],
        }
        for record, result in results
    ]


def _model_rows(entries, projects) -> list[dict]:
    versions = {
        v["pk"]: v
        for v in ModelVersion.objects.filter(
            pk__in=[e["model_version"] for e in entries if e.get("model_version")]
        ).values("pk", "number", "job_id")
    }
    return [
        entry
        | {
            "defect_type": projects.get(entry["project"]),
            "version": versions.get(entry.get("model_version")),
        }
        for entry in entries
    ]


def record_page(user, record) -> dict:
    """The record page's context; `overlay` is what the page's script draws."""
    visible = visible_project_ids(user)
    result = _visible_result(record, visible)
    shown = [p for p in record.projects.order_by("pk") if visible is None or p.pk in visible]
    projects = {p.pk: p for p in shown} | _projects(
        e["project"] for e in (*result["models"], *result.get("shadow", []))
    )
    views = list(record.views.all())
    masks = [
        m
        for m in record.masks.select_related("project").order_by("project", "camera", "pk")
        if visible is None or m.project_id in visible
    ]
    decisions = audit.decisions_for(user, record, visible).select_related("project")
    findings = [
        {"defect": d, "defect_type": projects.get(d["project"]), "view": v}
        for d in result["defects"]
        for v in d["views"]
    ]
    types = {m.project_id: m.project for m in masks}
    types |= {
        d["project"]: projects[d["project"]] for d in result["defects"] if d["project"] in projects
    }
    stored = any(v.file for v in views)
    overlay = {
        "record": record.pk,
        "views": [
            {
                "id": v.pk,
                "camera": v.camera,
                "image_url": f"/api/records/{record.pk}/views/{v.pk}/" if v.file else None,
            }
            for v in views
        ],
        "masks": [
            {
                "camera": m.camera,
                "project": m.project_id,
                "url": f"/api/records/{record.pk}/masks/{m.pk}/",
            }
            for m in masks
        ],
        "boxes": [
            {
                "project": f["defect"]["project"],
                "camera": f["view"]["camera"],
                "bbox": f["view"]["bbox"],
            }
            for f in findings
            if f["view"].get("bbox")
        ],
        "types": [{"project": p.pk, "name": p.name, "color": p.color} for p in types.values()],
    }
    return {
        "record": record,
        "result": result,
        "views": [
            {
                "view": v,
                "quality": result["quality"].get(v.camera),
                "issues": result["quality_issues"].get(v.camera, []),
            }
            for v in views
        ],
        "defect_types": list(types.values()),
        "findings": findings,
        "models": _model_rows(result["models"], projects),
        "shadow": _model_rows(result.get("shadow", []), projects),
        "decisions": decisions,
        "send_to": [p for p in shown if stored and can(user, p, "inspect") and may_send(user, p)],
        "overlay": overlay,
    }
