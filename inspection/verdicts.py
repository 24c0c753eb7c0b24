"""The verdict JSON of DESIGN.md section 12, shared by the API, websockets and webhooks."""

from __future__ import annotations


def build(
    record_id,
    station_id,
    captured_at,
    serial,
    lot,
    results,
    quality,
    latency_ms,
    mask_urls: dict[tuple[int, str], str],
    quality_issues: dict[str, list[str]] | None = None,
) -> dict:
    """NG when any model finds a defect; otherwise "not_inspectable" when a view failed its
    quality check (no defect seen in a blurred view proves nothing), else OK."""
    defects, models = [], []
    for model, views in results:
        models.append(
            {
                "project": model.project_id,
                "model_version": model.version_id,
                "fused_model": model.fused_id,
                "snapshot": model.snapshot_id,
                "runtime": model.runtime,
                "threshold": model.threshold,
                "min_area": model.min_area,
            }
        )
        found = [v for v in views if v.defective]
        if not found:
            continue
        defects.append(
            {
                "project": model.project_id,
                "defect_type": model.defect_type,
                "score": round(max(v.score for v in found), 4),
                "area_px": sum(v.area_px for v in found),
                "views": [
                    {
                        "camera": v.camera,
                        "score": round(v.score, 4),
                        "area_px": v.area_px,
                        "bbox": v.bbox,
                        "mask_url": mask_urls.get((model.project_id, v.camera)),
                    }
                    for v in found
                ],
            }
        )
    return {
        "id": record_id,
        "station": station_id,
        "captured_at": captured_at.isoformat(),
        "serial": serial,
        "lot": lot,
        "verdict": "ng" if defects else ("not_inspectable" if quality_issues else "ok"),
        "defects": defects,
        "models": models,
        "quality": quality,
        "quality_issues": quality_issues or {},
        "latency_ms": round(latency_ms, 2),
    }


def visible_to(verdict: dict, project_ids: set[int] | None) -> dict:
    """The verdict with per-defect results only for projects the viewer belongs to."""
    if project_ids is None:
        return verdict
    visible = verdict | {
        "defects": [d for d in verdict["defects"] if d["project"] in project_ids],
        "models": [m for m in verdict["models"] if m["project"] in project_ids],
    }
    if "shadow" in verdict:
        visible["shadow"] = [s for s in verdict["shadow"] if s["project"] in project_ids]
    return visible
