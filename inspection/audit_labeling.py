"""Where the model and the inspectors' consensus disagree, and sending those objects' view
images to the defect project's labeling queue (new, unlabelled images of the project)."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError

from annotation.imaging import ImageRejected
from annotation.models import Image
from annotation.services import add_image
from defect_platform.core.storage import read_bytes
from inspection import audit
from inspection.audit_metrics import ABSENT, PRESENT, UNSURE
from inspection.models import InspectionRecord, RecordView

REASON = "audit disagreement"
MAX_RECORDS = 100


def _views(record_ids: list[int]) -> dict[int, list[RecordView]]:
    out: dict[int, list[RecordView]] = {}
    for view in RecordView.objects.filter(record_id__in=record_ids).order_by("record", "pk"):
        out.setdefault(view.record_id, []).append(view)
    return out


def sent_records(project) -> set[int]:
    """Records whose images were already sent to the project's labeling."""
    rows = Image.objects.filter(project=project, metadata__has_key="source_record")
    return {m["source_record"] for m in rows.values_list("metadata", flat=True)}


def disagreements(project, records, limit: int = 48) -> dict:
    """Judged objects where the model's verdict differs from the consensus (unsure objects
    left out), newest first, with their stored view images."""
    found = [
        o
        for o in audit.judged_objects(project, records)
        if o.consensus != UNSURE and o.model != o.consensus
    ]
    found.sort(key=lambda o: (o.captured_at, o.record_id), reverse=True)
    shown = found[:limit]
    views = _views([o.record_id for o in shown])
    sent = sent_records(project) if shown else set()
    items = []
    for o in shown:
        items.append(
            {
                "record": o.record_id,
                "captured_at": o.captured_at.isoformat(),
                "station": o.station_id,
                "lot": o.lot,
                "kind": "escape" if o.model == ABSENT else "false_reject",
                "model": o.model,
                "consensus": o.consensus,
                "decisions": o.by,
                "adjudicated": o.adjudicated,
                "sent_to_labeling": o.record_id in sent,
                "views": [
                    {
                        "id": v.pk,
                        "camera": v.camera,
                        "image_url": f"/api/records/{o.record_id}/views/{v.pk}/"
                        if v.file
                        else None,
                    }
                    for v in views.get(o.record_id, [])
                ],
            }
        )
    return {
        "project": project.pk,
        "defect_type": project.name,
        "total": len(found),
        "escapes": sum(o.model == ABSENT and o.consensus == PRESENT for o in found),
        "false_rejects": sum(o.model == PRESENT and o.consensus == ABSENT for o in found),
        "results": items,
    }


def send_to_labeling(project, user, records, record_ids: list[int]) -> dict:
    """Add the stored view images of `record_ids` (of `records`, checked for `project`) to the
    project as new images; views the retention policy pruned are skipped and said so.

    Each image stands on its own (as in an upload): one that cannot be read does not undo
    the others."""
    found = {
        r.pk: r
        for r in records.filter(projects=project, pk__in=record_ids).select_related("station")
    }
    unknown = [pk for pk in record_ids if pk not in found]
    if not found:
        shown = ", ".join(str(pk) for pk in unknown[:10])
        raise ValidationError(
            {"records": f"No object among {shown} was checked for {project.name} here."}
        )
    views = _views(list(found))
    added, already, skipped = [], [], []
    for pk in record_ids:
        record = found.get(pk)
        if record is None:
            continue
        for view in views.get(pk, []):
            if not view.file:
                skipped.append(_skip(view, "the image was removed by the retention policy"))
                continue
            try:
                data = read_bytes(view.file.name)
                image, created = add_image(
                    project, data, f"record-{pk}-{view.camera}.jpg", user, _metadata(record, view)
                )
            except (OSError, ImageRejected) as exc:
                skipped.append(_skip(view, f"the image could not be read ({exc})"))
                continue
            row = {"record": pk, "camera": view.camera, "image": image.pk}
            (added if created else already).append(row)
        if not views.get(pk):
            skipped.append({"record": pk, "camera": None, "reason": "the object has no views"})
    return {
        "added": added,
        "already_in_project": already,
        "skipped": skipped,
        "unknown_records": unknown,
        "message": _message(added, already, skipped, unknown),
    }


def _metadata(record: InspectionRecord, view: RecordView) -> dict:
    return {
        "source": "audit",
        "source_record": record.pk,
        "camera": view.camera,
        "station": record.station_id,
        "station_name": record.station.name if record.station else "",
        "captured_at": record.captured_at.isoformat(),
        "reason": REASON,
    }


def _skip(view: RecordView, reason: str) -> dict:
    return {"record": view.record_id, "camera": view.camera, "reason": reason}


def _message(added, already, skipped, unknown) -> str:
    parts = [f"{len(added)} image(s) added to the labeling queue"]
    if already:
        parts.append(f"{len(already)} already in the project")
    pruned = [s for s in skipped if "retention" in s["reason"]]
    if pruned:
        parts.append(f"{len(pruned)} skipped: removed by the retention policy")
    other = len(skipped) - len(pruned)
    if other:
        parts.append(f"{other} skipped (see details)")
    if unknown:
        parts.append(f"{len(unknown)} record(s) not found for this defect type")
    return "; ".join(parts) + "."
