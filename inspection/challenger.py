"""Champion and challenger: a candidate model judged against production on real captures
before anyone promotes it.

Two sources of candidate verdicts: the shadow (run beside production on every inspected
object, recorded in the verdict JSON under "shadow") and a replay (run later over the stored
view images). Both are compared with what production said and, where inspectors judged the
object, with the inspectors' consensus, which decides the recommendation.
"""

from __future__ import annotations

import io

import numpy as np
from django.utils import timezone
from PIL import Image

from defect_platform.core.storage import read_bytes
from inspection import audit, audit_metrics, engine
from inspection.models import InspectionRecord, Replay

# The challenger must be right on at least this many more inspector-judged objects than the
# champion, and never miss more defects, before promotion is recommended.
MIN_GAIN = 1


def shadow_entries(results) -> list[dict]:
    """The shadow models' findings for the verdict JSON: per project, defective or not."""
    out = []
    for model, views in results:
        found = [v for v in views if v.defective]
        out.append(
            {
                "project": model.project_id,
                "model_version": model.version_id,
                "snapshot": model.snapshot_id,
                "defective": bool(found),
                "score": round(max((v.score for v in views), default=0.0), 4),
                "views": [
                    {"camera": v.camera, "score": round(v.score, 4), "area_px": v.area_px}
                    for v in found
                ],
            }
        )
    return out


def compare(pairs: list[tuple[bool, bool, str | None]]) -> dict:
    """[(production defective, candidate defective, inspector consensus or None)] → counts,
    agreement, each model's confusion against the inspectors, and a recommendation."""
    both_ng = sum(p and c for p, c, _ in pairs)
    both_ok = sum(not p and not c for p, c, _ in pairs)
    judged = [(p, c, t) for p, c, t in pairs if t in (audit_metrics.PRESENT, audit_metrics.ABSENT)]
    champion = audit_metrics.confusion([p for p, _, _ in judged], [t for *_, t in judged])
    challenger = audit_metrics.confusion([c for _, c, _ in judged], [t for *_, t in judged])
    right = {
        name: counts["tp"] + counts["tn"]
        for name, counts in (("champion", champion), ("challenger", challenger))
    }
    if not judged:
        advice = "no inspector decisions on these objects yet: judge some before deciding"
        promote = None
    elif right["challenger"] - right["champion"] >= MIN_GAIN and challenger["fn"] <= champion["fn"]:
        advice = (
            f"promote: the candidate is right on {right['challenger']} of {len(judged)} "
            f"inspector-judged objects, production on {right['champion']}, and it misses no "
            "more defects"
        )
        promote = True
    else:
        advice = (
            f"keep production: the candidate is right on {right['challenger']} of "
            f"{len(judged)} inspector-judged objects, production on {right['champion']}"
            + (
                f", and it misses {challenger['fn']} defects against {champion['fn']}"
                if challenger["fn"] > champion["fn"]
                else ""
            )
        )
        promote = False
    return {
        "objects": len(pairs),
        "agreement": (both_ng + both_ok) / len(pairs) if pairs else None,
        "both_ng": both_ng,
        "both_ok": both_ok,
        "candidate_only_ng": sum(c and not p for p, c, _ in pairs),
        "production_only_ng": sum(p and not c for p, c, _ in pairs),
        "inspector_judged": len(judged),
        "champion": champion | audit_metrics.precision_recall(champion),
        "challenger": challenger | audit_metrics.precision_recall(challenger),
        "recommend_promotion": promote,
        "advice": advice,
    }


def _consensus(records, project_id: int) -> dict[int, str]:
    return {
        record_id: audit_metrics.consensus(list(entry["by"].values()), entry["adjudicated"])
        for record_id, entry in audit.latest_decisions(records, project_id).items()
    }


def shadow_report(project, records) -> dict:
    """The shadow candidate's recorded verdicts on `records` against production's."""
    records = records.filter(projects=project)
    truth = _consensus(records, project.pk)
    by_version: dict[int, list] = {}
    for record in records.only("pk", "result"):
        for entry in record.result.get("shadow", []):
            if entry["project"] == project.pk:
                production = audit.model_said(record, project.pk) == audit_metrics.PRESENT
                by_version.setdefault(entry["model_version"], []).append(
                    (production, entry["defective"], truth.get(record.pk))
                )
    return {
        "project": project.pk,
        "versions": {str(v): compare(pairs) for v, pairs in sorted(by_version.items())},
    }


def _view_image(view) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(read_bytes(view.file.name))).convert("RGB"))


def replay(run: Replay, loaded) -> dict:
    """Run `loaded` (the candidate, registry.LoadedModel) over the newest stored captures of
    its project and compare; records whose images were all pruned are counted, not judged."""
    project_id = run.model_version.project_id
    records = (
        InspectionRecord.objects.filter(projects=project_id)
        .prefetch_related("views")
        .order_by("-pk")[: run.limit]
    )
    records = list(records)
    truth = _consensus(InspectionRecord.objects.filter(pk__in=[r.pk for r in records]), project_id)
    pairs, pruned = [], 0
    for record in records:
        views = [(v.camera, _view_image(v)) for v in record.views.all() if v.file]
        if not views:
            pruned += 1
            continue
        ((_, results),) = engine.run([loaded], views)
        production = audit.model_said(record, project_id) == audit_metrics.PRESENT
        pairs.append((production, any(v.defective for v in results), truth.get(record.pk)))
    return compare(pairs) | {"records_without_images": pruned}


def run(replay_id: int) -> Replay:
    """Carry out a queued replay (the Celery task); failures are recorded on the row."""
    from training import registry

    run_row = Replay.objects.select_related("model_version").get(pk=replay_id)
    Replay.objects.filter(pk=replay_id).update(status=Replay.Status.RUNNING)
    try:
        report = replay(run_row, registry.load(run_row.model_version))
    except Exception as exc:
        Replay.objects.filter(pk=replay_id).update(
            status=Replay.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
        raise
    Replay.objects.filter(pk=replay_id).update(
        status=Replay.Status.SUCCEEDED, report=report, finished_at=timezone.now()
    )
    run_row.refresh_from_db()
    return run_row
