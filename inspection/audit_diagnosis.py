"""Human-level performance, the dominant gap and prevalence for one defect type: gathers the
inputs (the serving model's stored figures, inspector decisions, the line's counts) for the
Django-free arithmetic in diagnosis.py and prevalence.py."""

from __future__ import annotations

from django.db.models import Count

from inspection import audit, diagnosis, prevalence
from inspection.audit_metrics import PRESENT, UNSURE
from inspection.models import InspectionRecord, RecordView
from training import registry

LEVELS = (
    "Training and validation errors count images (one image, one label); production error "
    "counts inspected objects against the inspectors' consensus. An object is NG for a defect "
    "type when any of its views is, so with several views per object production error runs "
    "above image-level error even on data like the training set."
)


def serving_model(project):
    """The version that judges the line: production, else the latest (as the registry)."""
    try:
        return registry.model_for_project(project)
    except registry.NoModel:
        return None


def model_summary(version) -> dict | None:
    """Image-level figures stored with the version (splits "train" and "validation")."""
    if version is None:
        return None
    train = version.metrics.get("train") or {}
    val = version.metrics.get("validation") or {}
    images = int(train.get("images") or 0) + int(val.get("images") or 0)
    positives = int(train.get("positives") or 0) + int(val.get("positives") or 0)
    return {
        "id": version.pk,
        "number": version.number,
        "is_production": version.is_production,
        "training_error": diagnosis.split_error(train),
        "validation_error": diagnosis.split_error(val),
        "training_images": int(train.get("images") or 0),
        "validation_images": int(val.get("images") or 0),
        "snapshot_images": images,
        "snapshot_positives": positives,
        "training_set_prevalence": positives / images if images else None,
        "validation": prevalence.rates(val.get("image") or {}),
    }


def line_counts(project, records) -> dict[str, int]:
    """Objects the line made for the defect type, per sampling stratum of the review queue
    (every non-OK object is queued, OK ones only as a sample)."""
    ids = records.filter(projects=project).values("pk")
    rows = (
        InspectionRecord.objects.filter(pk__in=ids)
        .values("verdict")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {"ok": 0, "not_ok": 0}
    for row in rows:
        counts["ok" if row["verdict"] == "ok" else "not_ok"] += row["n"]
    return counts


def _strata(counts: dict[str, int], objects: list[audit.Judged], hit) -> list[dict]:
    out = []
    for name in ("ok", "not_ok"):
        decided = [
            o for o in objects if (o.verdict == "ok") == (name == "ok") and o.consensus != UNSURE
        ]
        out.append(
            {
                "stratum": name,
                "objects": counts[name],
                "decided": len(decided),
                "hits": sum(bool(hit(o)) for o in decided),
            }
        )
    return out


def _share(strata: list[dict]) -> float | None:
    return prevalence.stratified_share([(s["objects"], s["hits"], s["decided"]) for s in strata])


def production_error(project, records, objects: list[audit.Judged], version) -> dict:
    """The model against the consensus on the line, for the serving version's objects when
    inspectors judged any of them (else for every judged object, said so)."""
    own = [o for o in objects if version is not None and o.model_version == version.pk]
    scope = own or objects
    strata = _strata(line_counts(project, records), scope, lambda o: o.model != o.consensus)
    decided = sum(s["decided"] for s in strata)
    wrong = sum(s["hits"] for s in strata)
    views = RecordView.objects.filter(record_id__in=[o.record_id for o in scope]).count()
    return {
        "error": _share(strata),
        "error_in_sample": wrong / decided if decided else None,
        "objects_decided": decided,
        "wrong": wrong,
        "serving_version_only": bool(own),
        "model_versions": sorted({o.model_version for o in objects if o.model_version}),
        "views_per_object": views / len(scope) if scope else None,
        "strata": strata,
    }


def diagnose(project, records) -> dict:
    """Human error, the model's training, validation and production error side by side, and
    which gap dominates (see diagnosis.py)."""
    objects = audit.judged_objects(project, records)
    version = serving_model(project)
    model = model_summary(version)
    human = diagnosis.human_error([(o.by, o.adjudicated) for o in objects])
    production = production_error(project, records, objects, version)
    errors = diagnosis.Errors(
        human=human["error"],
        disagreement=human["disagreement"],
        training=model["training_error"] if model else None,
        validation=model["validation_error"] if model else None,
        production=production["error"],
    )
    return {
        "project": project.pk,
        "defect_type": project.name,
        "objects_judged": len(objects),
        "model": model,
        "human": human,
        "production": production,
        "errors": {
            "human": errors.human,
            "training": errors.training,
            "validation": errors.validation,
            "production": errors.production,
        },
        "levels": LEVELS,
        "diagnosis": diagnosis.diagnose(errors),
    }


def prevalence_report(project, records) -> dict:
    """Defect share on the line (inspector-confirmed) beside the training set's, and the
    serving model's validation TPR/FPR re-weighted to each (formulas in prevalence.py)."""
    objects = audit.judged_objects(project, records)
    model = model_summary(serving_model(project))
    strata = _strata(line_counts(project, records), objects, lambda o: o.consensus == PRESENT)
    line = _share(strata)
    decided = sum(s["decided"] for s in strata)
    val = model["validation"] if model else {}
    tpr, fpr = val.get("tpr"), val.get("fpr")
    figures = {
        "validation_as_measured": prevalence.at_prevalence(tpr, fpr, val.get("prevalence")),
        "at_training_set": prevalence.at_prevalence(
            tpr, fpr, model["training_set_prevalence"] if model else None
        ),
        "at_line": prevalence.at_prevalence(tpr, fpr, line),
    }
    return {
        "project": project.pk,
        "defect_type": project.name,
        "line": {
            "prevalence": line,
            "in_sample": sum(s["hits"] for s in strata) / decided if decided else None,
            "strata": strata,
        },
        "training_set": {
            "prevalence": model["training_set_prevalence"] if model else None,
            "images": model["snapshot_images"] if model else 0,
            "positives": model["snapshot_positives"] if model else 0,
            "model_version": model["number"] if model else None,
        },
        "validation": {
            "tpr": tpr,
            "fpr": fpr,
            **{k: val.get(k) for k in ("positives", "negatives")},
        },
        "figures": figures,
        "message": _prevalence_message(line, model, figures, strata),
    }


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def _prevalence_message(line, model, figures, strata) -> str:
    if model is None:
        return "No trained model yet: train one to compare its figures with the line."
    if line is None:
        if not any(s["objects"] for s in strata):
            return "No inspected objects in this range."
        return (
            "Not enough judged objects: inspectors need to judge OK and NG objects alike "
            "(the review queue samples OK ones) before the line's defect share can be estimated."
        )
    if figures["at_line"] is None:
        return (
            f"Defects on the line: {100 * line:.1f} %. The model's validation split lacks "
            "defective or defect-free images, so its figures cannot be re-weighted."
        )
    at_line = figures["at_line"]
    train = model["training_set_prevalence"]
    return (
        f"Defects on the line: {100 * line:.1f} % (training set "
        f"{_pct(train)}). At the line's share the model's "
        f"precision would be {_pct(at_line['precision'])}, with "
        f"{1e6 * at_line['false_reject_rate']:.0f} false rejects and "
        f"{1e6 * at_line['escape_rate']:.0f} escapes per million objects."
    )
