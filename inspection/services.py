"""Inspecting uploaded images: decode, run the engine, store the record and its masks."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from annotation.imaging import ImageRejected, decode_image, encode_png, to_rgb_array
from defect_platform.core import webhooks
from defect_platform.core.storage import delete_quietly, save_bytes, unique_name
from inspection import challenger, engine, mqtt, quality, retention, station_thresholds, verdicts
from inspection.models import InspectionRecord, RecordMask
from training import registry


def earlier_record(user, idempotency_key: str):
    if not idempotency_key:
        return None
    return InspectionRecord.objects.filter(created_by=user, idempotency_key=idempotency_key).first()


def inspect_uploads(
    user,
    projects,
    station,
    uploads: list[tuple[str, bytes]],
    serial: str = "",
    lot: str = "",
    idempotency_key: str = "",
) -> InspectionRecord:
    """One object seen in `uploads` [(camera, image bytes)], judged by every project's model."""
    earlier = earlier_record(user, idempotency_key)
    if earlier:
        return earlier
    started = time.perf_counter()
    views = []
    for camera, data in uploads:
        try:
            decode_image(data, settings.MAX_IMAGE_PIXELS)
        except ImageRejected as exc:
            raise ValidationError({"images": f"{camera}: {exc}"}) from None
        views.append((camera, to_rgb_array(data)))
    return inspect_views(user, projects, station, views, started, serial, lot, idempotency_key)


def inspect_views(
    user,
    projects,
    station,
    views: list[tuple[str, object]],
    started: float,
    serial: str = "",
    lot: str = "",
    idempotency_key: str = "",
    extra_issues: dict[str, list[str]] | None = None,
    view_times: dict | None = None,
    models: list | None = None,
    shadows: list | None = None,
) -> InspectionRecord:
    """Judge decoded views [(camera, RGB array)] of one object and store the record.

    `models` and `shadows` (loaded) save the lookups for callers that judge many objects, the
    live line. Shadow candidates' findings go into the record beside the verdict, never into
    it."""
    if models is None:
        serving = serving_models(station, projects)
        if serving.unjudged:
            raise registry.NoModel(serving.unjudged[0])
        models = serving.models
    if shadows is None:
        shadows = shadow_models(projects)
    results = engine.run(models, views) if views else [(m, []) for m in models]
    view_quality = {camera: quality.measure(image) for camera, image in views}
    issues = _quality_issues(station, view_quality) | (extra_issues or {})
    # The line's latency is production's: shadow candidates run after it is measured.
    latency_ms = (time.perf_counter() - started) * 1000
    shadow = challenger.shadow_entries(engine.run(shadows, views)) if shadows and views else []
    return _store(
        user,
        projects,
        station,
        results,
        (view_quality, issues),
        latency_ms,
        serial,
        lot,
        idempotency_key,
        (views, view_times or {}),
        shadow,
    )


def _quality_issues(station, view_quality: dict) -> dict[str, list[str]]:
    """Per camera with a golden reference, what drifted past its limits."""
    if station is None:
        return {}
    configs = {c.get("name"): c for c in station.cameras}
    issues = {}
    for camera, measured in view_quality.items():
        config = configs.get(camera, {})
        found = quality.check(measured, config.get("reference"), config.get("limits"))
        if found:
            issues[camera] = found
    return issues


@dataclass
class Serving:
    models: list  # loaded, in project order
    unjudged: list[str]  # projects without a usable model, and why
    notes: list[str]  # e.g. a fused model that could not load (its projects fell back)


def serving_models(station, projects) -> Serving:
    """The loaded models that judge `projects` on `station`. A station with a fused model uses
    its channels for the projects it covers (one network run per view batch) and the projects'
    own models for the rest; a fused model that cannot load falls back to the own models."""
    found, unjudged, notes, fused = {}, [], [], {}
    if station is not None and station.fused_model_id:
        try:
            fused = {m.project_id: m for m in registry.load_fused(station.fused_model)}
        except registry.NoModel as exc:
            notes.append(f"fused model not used: {exc}")
    versions = {}
    for project in projects:
        if project.pk in fused:
            found[project.pk] = fused[project.pk]
            continue
        try:
            versions[project.pk] = registry.model_for_project(project)
        except registry.NoModel as exc:
            unjudged.append(f"{project.name}: {exc}")
    loaded = registry.load_many(list(versions.values()))
    for project in projects:
        if project.pk in versions:
            outcome = loaded[versions[project.pk].pk]
            if isinstance(outcome, registry.NoModel):
                unjudged.append(f"{project.name}: {outcome}")
            else:
                found[project.pk] = outcome
    models = [found[p.pk] for p in projects if p.pk in found]
    if station is not None and station.thresholds:
        models = station_thresholds.apply(models, station.thresholds)
    return Serving(models, unjudged, notes)


def shadow_models(projects) -> list:
    """Loaded shadow candidates of these projects (a project without one has none)."""
    found = []
    for project in projects:
        version = registry.shadow_for_project(project)
        if version is not None:
            found.append(registry.load(version))
    return found


def _store(
    user, projects, station, results, quality_info, latency_ms, serial, lot, key, seen, shadow
):
    view_quality, issues = quality_info
    images, view_times = seen
    written: list[str] = []
    try:
        with transaction.atomic():
            record = InspectionRecord.objects.create(
                station=station,
                captured_at=timezone.now(),
                serial=serial,
                lot=lot,
                verdict="ok",
                latency_ms=latency_ms,
                idempotency_key=key,
                created_by=user,
            )
            record.projects.set(projects)
            mask_urls = {}
            for model, views in results:
                for view in views:
                    if not view.defective:
                        continue
                    name = save_bytes(
                        unique_name(f"records/{record.pk}", ".png"), encode_png(view.mask)
                    )
                    written.append(name)
                    mask = RecordMask.objects.create(
                        record=record, project_id=model.project_id, camera=view.camera, file=name
                    )
                    mask_urls[(model.project_id, view.camera)] = (
                        f"/api/records/{record.pk}/masks/{mask.pk}/"
                    )
            result = verdicts.build(
                record.pk,
                station.pk if station else None,
                record.captured_at,
                serial,
                lot,
                results,
                view_quality,
                latency_ms,
                mask_urls,
                issues,
            )
            if shadow:
                result["shadow"] = shadow
            record.result, record.verdict = result, result["verdict"]
            record.save(update_fields=["result", "verdict"])
            ok_share = station.keep_ok_images if station else 1.0
            keep = retention.keeps_images(record.pk, record.verdict, ok_share)
            retention.store_views(record, images, view_times, keep, written)
            transaction.on_commit(lambda: mqtt.publish_verdict(record.result))
            if record.verdict == InspectionRecord.Verdict.NG:
                webhooks.emit([p.pk for p in projects], "verdict.ng", record.result)
    except IntegrityError:
        # The same idempotency key raced in from a second request: answer with that record.
        for name in written:
            delete_quietly(name)
        return InspectionRecord.objects.get(created_by=user, idempotency_key=key)
    except BaseException:
        for name in written:
            delete_quietly(name)
        raise
    return record


def set_reference(station, camera: str, data: bytes, limits: dict | None) -> dict:
    """Store `camera`'s golden-frame quality (and limits); returns the camera's config."""
    try:
        decode_image(data, settings.MAX_IMAGE_PIXELS)
    except ImageRejected as exc:
        raise ValidationError({"image": str(exc)}) from None
    measured = quality.measure(to_rgb_array(data))
    with transaction.atomic():
        locked = type(station).objects.select_for_update().get(pk=station.pk)
        cameras = list(locked.cameras)
        index = next((i for i, c in enumerate(cameras) if c.get("name") == camera), None)
        if index is None:
            raise ValidationError({"camera": f"The station has no camera {camera!r}."})
        cameras[index] = cameras[index] | {"reference": measured}
        if limits is not None:
            cameras[index]["limits"] = limits
        locked.cameras = cameras
        locked.save(update_fields=["cameras"])
    return cameras[index]
