"""Per-station overrides of the production models' decision rule (image probability threshold
and minimum defect area). A line with other lighting, or a customer who wants fewer escapes,
moves its own rule without retraining or touching other stations. Overrides live on the
station row, so the web process and `run_station` pick them up at their next model reload
(about every RELOAD_S), and every verdict records the rule it was judged with."""

from __future__ import annotations

from dataclasses import replace

from django.db import transaction
from rest_framework.exceptions import PermissionDenied, ValidationError

from defect_platform.core import audit_log
from defect_platform.core.access import can
from inspection import station_state
from inspection.models import Station
from training import registry

MAX_AREA = 100_000_000  # pixels: more than any view this platform accepts


def apply(models: list, overrides: dict) -> list:
    """The loaded models with the station's overrides in place. Copies: the registry's loaded
    models are shared by every station and request."""
    out = []
    for model in models:
        rule = overrides.get(str(model.project_id))
        out.append(replace(model, **rule) if rule else model)
    return out


def describe(station: Station) -> list[dict]:
    """Per project of the station: the production model's rule, the override, and the rule
    that judges (None where no production model exists yet)."""
    rows = []
    for project in station.projects.order_by("pk"):
        try:
            version = registry.model_for_project(project)
            model_rule = {"threshold": version.threshold, "min_area": version.min_area}
        except registry.NoModel:
            version, model_rule = None, None
        override = station.thresholds.get(str(project.pk))
        rows.append(
            {
                "project": project.pk,
                "defect_type": project.name,
                "model_version": version.number if version else None,
                "model": model_rule,
                "override": override,
                "effective": (model_rule | (override or {})) if model_rule else None,
            }
        )
    return rows


def _clean(project_key, rule) -> dict | None:
    if rule is None:
        return None  # back to the model's rule
    if not isinstance(rule, dict) or set(rule) - {"threshold", "min_area"} or not rule:
        raise ValidationError(
            {project_key: "Give {threshold, min_area} (either or both), or null to clear."}
        )
    out = {}
    if "threshold" in rule:
        value = rule["threshold"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise ValidationError({project_key: "threshold must be a number in (0, 1]."})
        out["threshold"] = float(value)
    if "min_area" in rule:
        value = rule["min_area"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AREA:
            raise ValidationError(
                {project_key: f"min_area must be a whole number of pixels, 0 to {MAX_AREA}."}
            )
        out["min_area"] = value
    return out


def update(station: Station, changes: dict, user) -> dict:
    """Merge `changes` ({project id: rule, or None to clear}) into the station's overrides.
    Each project named must be on the station and the user must train its models."""
    projects = {str(p.pk): p for p in station.projects.all()}
    cleaned = {}
    for key, rule in changes.items():
        project = projects.get(str(key))
        if project is None:
            raise ValidationError({str(key): "This station does not check that project."})
        if not can(user, project, "train"):
            raise PermissionDenied(f"Changing {project.name}'s rule needs an engineer or owner.")
        cleaned[str(key)] = _clean(str(key), rule)
    with transaction.atomic():
        locked = Station.objects.select_for_update().get(pk=station.pk)
        before = dict(locked.thresholds)
        after = dict(before)
        for key, rule in cleaned.items():
            if rule is None:
                after.pop(key, None)
            else:
                after[key] = rule
        if after != before:
            locked.thresholds = after
            locked.save(update_fields=["thresholds"])
            station_state.record_for_projects(
                locked,
                user,
                audit_log.Action.STATION_THRESHOLDS,
                changes={k: [before.get(k), after.get(k)] for k in cleaned},
            )
    station.thresholds = after
    return after
