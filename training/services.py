"""Training jobs: snapshot, enqueue, run (in the worker), reap, and the model registry."""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import time
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from annotation.imaging import to_rgb_array
from annotation.models import Image, LabelVersion
from annotation.services import training_labels, version_mask
from defect_platform.core import audit_log, webhooks
from defect_platform.core.events import notify
from defect_platform.core.storage import delete_quietly, read_bytes, save_bytes, unique_name
from training import registry
from training.lease import Lease, LeaseLost
from training.ml import runtime
from training.models import DatasetSnapshot, ModelVersion, Promotion, TrainingJob

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
Status = TrainingJob.Status


def create_job(project, user, params: dict, image_ids=None, queue: bool = True) -> TrainingJob:
    """Freeze the project's current labels (of `image_ids` only, when given) into a snapshot
    and queue a job on it (`queue=False`: the caller runs it with run_job).

    `params["snapshot_from"]` (a job id) reuses that job's snapshot, split included, so the
    two jobs are comparable.
    """
    params = dict(params)
    source_id = params.pop("snapshot_from", None)
    if source_id is None:
        labels = training_labels(project)
        if image_ids is not None:
            keep = set(image_ids)
            labels = {k: v for k, v in labels.items() if k in keep}
        _check_labels(labels)
        dataset = freeze(
            project, user, labels, params.get("seed", 0), params.get("val_fraction", 0.2)
        )
    else:
        dataset = _snapshot_of(project, source_id)
        _check_labels(dataset_labels(dataset))
    params = {
        **param_defaults(),
        "input_size": input_size_for(project),
        "resize_policy": project.resize_policy,
        "cost_ratio": project.miss_cost,
        **params,
    }
    job = TrainingJob.objects.create(
        project=project, params=params, created_by=user, dataset=dataset
    )
    if queue:
        enqueue(job)
    notify(project.pk, "job.created", job_event(job))
    return job


def param_defaults() -> dict:
    """The job parameters' defaults, as the API fills them in: a job made in code (the quality
    check, a notebook) gets the same ones instead of failing on a missing key mid-run."""
    from rest_framework.fields import empty

    from training.serializers import JobParamsSerializer

    fields = JobParamsSerializer().fields.items()
    return {name: field.default for name, field in fields if field.default is not empty}


def suggested_input_size(project, sample: int = 2000) -> list[int] | None:
    """The input size the project's images suggest (training/ml/input_size.py), from its
    newest images (a sample: the median of thousands does not move)."""
    from training.ml.input_size import suggest_input_size

    sizes = project.images.order_by("-id").values_list("height", "width")[:sample]
    size = suggest_input_size(sizes)
    return list(size) if size else None


FALLBACK_INPUT_SIZE = [256, 256]


def input_size_for(project, suggested: list[int] | None = None) -> list[int]:
    """[height, width] a new job of the project trains at: the size set on the project, or
    while none is set, the one its images suggest (`suggested`, where the caller already has
    it, saves reading the images' sizes again)."""
    if project.input_height and project.input_width:
        return [project.input_height, project.input_width]
    return suggested or suggested_input_size(project) or list(FALLBACK_INPUT_SIZE)


def _check_labels(labels: dict[int, LabelVersion]) -> None:
    if not labels:
        raise ValidationError(
            {"project": "The project has no labels yet: label some images first."}
        )
    if not any(v.kind == LabelVersion.Kind.MASK and v.positive_pixels for v in labels.values()):
        raise ValidationError({"project": "The project has no defect masks, only negatives."})
    _check_files(labels)


def freeze(project, user, labels: dict[int, LabelVersion], seed: int, val_fraction: float):
    """The snapshot of `labels` with a split stratified by defective/defect-free image; an
    identical one already stored is reused."""
    from training.ml.train import stratified_split

    ids = sorted(labels)
    positive = [
        labels[i].kind == LabelVersion.Kind.MASK and labels[i].positive_pixels > 0 for i in ids
    ]
    _, val = stratified_split(positive, val_fraction, seed)
    items = {str(i): labels[i].pk for i in ids}
    validation = [ids[k] for k in val]
    digest = hashlib.sha256(json.dumps([items, validation], sort_keys=True).encode()).hexdigest()
    dataset, _ = DatasetSnapshot.objects.get_or_create(
        project=project,
        digest=digest,
        defaults={
            "items": items,
            "validation": validation,
            "seed": seed,
            "val_fraction": val_fraction,
            "created_by": user,
        },
    )
    return dataset


def dataset_labels(dataset: DatasetSnapshot) -> dict[int, LabelVersion]:
    versions = LabelVersion.objects.in_bulk([int(v) for v in dataset.items.values()])
    return {int(k): versions[int(v)] for k, v in dataset.items.items() if int(v) in versions}


def _snapshot_of(project, job_id) -> DatasetSnapshot:
    source = TrainingJob.objects.filter(pk=job_id, project=project).select_related("dataset")
    source = source.first()
    if source is None or source.dataset is None:
        raise ValidationError({"snapshot_from": "No training job with that id in this project."})
    return source.dataset


def _check_files(labels: dict[int, LabelVersion]) -> None:
    """Refuse before any worker time is spent when stored files have vanished."""
    images = Image.objects.in_bulk(list(labels))
    missing = [
        f"image {pk}"
        for pk, image in images.items()
        if not image.file.storage.exists(image.file.name)
    ]
    missing += [
        f"mask of image {pk}"
        for pk, v in labels.items()
        if v.mask and not v.mask.storage.exists(v.mask.name)
    ]
    if missing:
        shown = ", ".join(missing[:5]) + (" and more" if len(missing) > 5 else "")
        raise ValidationError({"project": f"Stored files are missing: {shown}."})


def enqueue(job: TrainingJob) -> None:
    from training.tasks import run_training_job

    transaction.on_commit(lambda: run_training_job.delay(job.pk))


def job_event(job: TrainingJob) -> dict:
    return {
        "job": job.pk,
        "status": job.status,
        "progress": round(job.progress, 4),
        "epoch": job.epoch,
        "history": job.history[-50:],
        "error": job.error,
    }


def cancel_job(job: TrainingJob) -> TrainingJob:
    if job.status == Status.QUEUED:
        job.status, job.finished_at = Status.CANCELLED, timezone.now()
        job.save(update_fields=["status", "finished_at"])
        notify(job.project_id, "job.updated", job_event(job))
    elif job.status == Status.RUNNING:
        # The worker checks this flag between batches.
        TrainingJob.objects.filter(pk=job.pk).update(cancel_requested=True)
        job.refresh_from_db()
    else:
        raise ValidationError({"status": f"The job is already {job.status}."})
    return job


def _load_samples(job: TrainingJob):
    """The snapshot's samples in image-id order, and the indices of its validation images."""
    from training.ml.train import Sample

    items = sorted((int(k), int(v)) for k, v in job.dataset.items.items())
    versions = LabelVersion.objects.in_bulk([v for _, v in items])
    images = Image.objects.in_bulk([k for k, _ in items])
    samples = []
    for image_id, version_id in items:
        image, version = images.get(image_id), versions.get(version_id)
        if image is None or version is None:
            raise RuntimeError(f"snapshot item {image_id} is gone from the database")
        try:
            pixels = to_rgb_array(read_bytes(image.file.name))
            mask = version_mask(version, *pixels.shape[:2])
        except OSError as exc:
            raise RuntimeError(f"file of image {image_id} is missing or unreadable: {exc}") from exc
        samples.append(Sample(pixels, mask))
    held = set(job.dataset.validation)
    validation = [i for i, (image_id, _) in enumerate(items) if image_id in held]
    return samples, validation


def _claim(job_id: int) -> TrainingJob | None:
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != Status.QUEUED:
            return None
        job.status, job.attempts = Status.RUNNING, job.attempts + 1
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.worker = f"{socket.gethostname()}:{__import__('os').getpid()}"
        job.save()
    return job


def _append_log(job: TrainingJob, line: str) -> None:
    job.log += f"{timezone.now():%Y-%m-%d %H:%M:%S} {line}\n"
    TrainingJob.objects.filter(pk=job.pk).update(log=job.log)


def run_job(job_id: int, isolate_runtimes: bool = False) -> None:
    """Run a queued job to the end (called by the Celery task, with `isolate_runtimes`: the
    quantization and accuracy gate then run in a spawned child, so the worker process never
    loads OpenVINO; see runtime_gate.prepare_in_child)."""
    job = _claim(job_id)
    if job is None:
        return
    with Lease(job.pk, job.attempts) as lease:
        _run_claimed(job, lease, isolate_runtimes)


def _run_claimed(job: TrainingJob, lease: Lease, isolate_runtimes: bool) -> None:
    from training.ml import export, runtime_gate
    from training.ml.artifact import ModelMeta, weights_bytes
    from training.ml.model import ModelConfig
    from training.ml.train import Cancelled, lower_priority, train

    lower_priority()
    params = job.params
    try:
        resume = read_bytes(job.checkpoint.name) if job.checkpoint else None
    except OSError as exc:
        resume = None
        _append_log(job, f"checkpoint {job.checkpoint.name} is gone ({exc}); starting over")
    _append_log(
        job,
        f"attempt {job.attempts} on {job.worker}" + (" resuming from checkpoint" if resume else ""),
    )
    last_beat = [0.0]

    def on_step(epoch, step, steps, loss):
        # Cancel and the lease are checked after every batch; progress at most once a second.
        lease.check()
        if TrainingJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
            raise Cancelled
        now = time.monotonic()
        if now - last_beat[0] < 1.0:
            return
        last_beat[0] = now
        progress = (epoch + (step + 1) / steps) / params["epochs"]
        TrainingJob.objects.filter(pk=job.pk).update(
            heartbeat_at=timezone.now(), progress=progress, epoch=epoch
        )
        job.progress, job.epoch = progress, epoch
        notify(job.project_id, "job.progress", job_event(job) | {"loss": loss})

    def on_epoch(epoch, record, checkpoint):
        # Only the newest checkpoint is kept: it is all a resumed job needs.
        previous = job.checkpoint.name if job.checkpoint else ""
        name = save_bytes(unique_name(f"projects/{job.project_id}/checkpoints", ".pt"), checkpoint)
        job.history.append(record)
        job.checkpoint, job.epoch = name, epoch
        job.progress = (epoch + 1) / params["epochs"]
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["history", "checkpoint", "epoch", "progress", "heartbeat_at"])
        delete_quietly(previous)
        _append_log(job, f"epoch {epoch + 1}/{params['epochs']} loss {record['train_loss']:.4f}")
        notify(job.project_id, "job.progress", job_event(job))

    try:
        samples, validation = _load_samples(job)
        config = train_config(params, validation)
        model_config = ModelConfig(
            encoder=params.get("encoder", "mobilenet_v2"),
            decoder_channels=tuple(params.get("decoder_channels") or ModelConfig.decoder_channels),
        )
        result = train(samples, model_config, config, on_step, on_epoch, resume)
        TrainingJob.objects.filter(pk=job.pk).update(device=f"{result.device} {result.precision}")
        _append_log(job, result.pretrained)
        meta = ModelMeta(
            model_config,
            config.input_size,
            result.rule.threshold,
            result.rule.min_area,
            result.pixel_threshold,
            config.resize_policy,
        )
        onnx_bytes = export.to_onnx(result.model, config.input_size)
        probe = np.random.default_rng(0).standard_normal((2, 3, *config.input_size))
        gap = export.parity(result.model, onnx_bytes, probe.astype(np.float32))
        if gap > export.PARITY_TOLERANCE:
            raise RuntimeError(f"the ONNX export differs from torch by {gap:.2e}")
        weights_file = weights_bytes(result.model)
        prepare = runtime_gate.prepare_in_child if isolate_runtimes else runtime_gate.prepare
        gate, int8 = prepare(
            onnx_bytes,
            [s.image for s in samples],
            [s.mask for s in samples],
            result.train_indices,
            result.val_indices,
            config.input_size,
            config.resize_policy,
            result.rule,
            result.pixel_threshold,
            settings.TRAINING_THREADS,
            weights=(weights_file, meta),
        )
        _append_log(job, _gate_line(gate))
    except LeaseLost:
        log.warning("job %s was taken over by another worker; this attempt stops", job.pk)
        return
    except Cancelled:
        if lease.held():
            _finish(job, Status.CANCELLED, "cancelled by user")
        return
    except Exception as exc:
        log.exception("training job %s failed", job.pk)
        if lease.held():
            _finish(job, Status.FAILED, f"{type(exc).__name__}: {exc}")
        return
    folder = f"projects/{job.project_id}/models"
    _attach_image_ids(job, result)
    weights = save_bytes(unique_name(folder, ".pt"), weights_file)
    onnx_name = save_bytes(unique_name(folder, ".onnx"), onnx_bytes)
    int8_names = ("", "")
    if int8:
        int8_names = (
            save_bytes(unique_name(folder, ".int8.xml"), int8[0]),
            save_bytes(unique_name(folder, ".int8.bin"), int8[1]),
        )
    metrics = result.metrics | {
        "decision_rule": result.rule.to_dict(),
        "pixel_threshold": result.pixel_threshold,
        "onnx_parity_max_abs": gap,
    }
    with transaction.atomic():
        # The fence: a worker whose job was handed to another writes nothing final.
        if not lease.held(lock=True):
            for name in (weights, onnx_name, *int8_names):
                delete_quietly(name)
            log.warning("job %s was taken over before it finished; its results are dropped", job.pk)
            return
        number = ModelVersion.objects.filter(project=job.project).count() + 1
        ModelVersion.objects.create(
            project=job.project,
            job=job,
            number=number,
            metrics=metrics,
            threshold=result.rule.threshold,
            min_area=result.rule.min_area,
            pixel_threshold=result.pixel_threshold,
            input_height=config.input_size[0],
            input_width=config.input_size[1],
            weights=weights,
            onnx=onnx_name,
            int8_model=int8_names[0],
            int8_weights=int8_names[1],
            runtime=gate.chosen,
            metadata={
                "runtime_gate": gate.to_dict(),
                "meta": meta.to_json(),
                "pos_weight": result.pos_weight,
                "pretrained": result.pretrained,
                "device": result.device,
                "precision": result.precision,
            },
        )
        job.history = result.history
        _finish(job, Status.SUCCEEDED, "")
    if job.checkpoint:  # the model version holds the weights now
        delete_quietly(job.checkpoint.name)
        TrainingJob.objects.filter(pk=job.pk).update(checkpoint="")


def _gate_line(gate) -> str:
    parts = [
        f"{c.runtime}: {c.reason}"
        + (f" (agreement {c.verdict_agreement:.3f})" if c.verdict_agreement is not None else "")
        for c in gate.candidates
    ]
    return f"serving runtime {gate.chosen} on {gate.images} images; " + "; ".join(parts)


def _attach_image_ids(job: TrainingJob, result) -> None:
    """Per-image results name their image, so pages can show the worst ones."""
    image_ids = sorted(job.dataset.image_ids)
    for split, indices in (("train", result.train_indices), ("validation", result.val_indices)):
        for row in result.metrics.get(split, {}).get("per_image", []):
            row["image"] = image_ids[indices[row["index"]]]


def worst_images(
    metrics: dict, split: str = "validation", count: int = 8, dataset: DatasetSnapshot | None = None
) -> list[dict]:
    """Wrong verdicts first, then the lowest mask IoU among defective images.

    With the `dataset` the model trained on, each row also names the label version it was
    judged against (`label_version`, and `label_mask`: whether that version has a mask), so a
    page shows image, label and prediction side by side.
    """
    rows = metrics.get(split, {}).get("per_image", [])
    wrong = [r for r in rows if r["predicted"] != r["actual"]]
    weak = sorted((r for r in rows if r["actual"] and r not in wrong), key=lambda r: r["iou"])
    worst = [dict(r) for r in (wrong + weak)[:count]]
    if dataset is not None:
        versions = {int(k): int(v) for k, v in dataset.items.items()}
        with_mask = set(
            LabelVersion.objects.filter(pk__in=versions.values())
            .exclude(mask="")
            .values_list("pk", flat=True)
        )
        for row in worst:
            row["label_version"] = versions.get(row.get("image"))
            row["label_mask"] = row["label_version"] in with_mask
    return worst


def train_config(params: dict, validation: list[int] | None = None):
    from training.ml.train import TrainConfig

    return TrainConfig(
        epochs=params["epochs"],
        batch_size=params["batch_size"],
        lr=params["lr"],
        input_size=tuple(params["input_size"]),
        seed=params["seed"],
        max_steps_per_epoch=params.get("max_steps_per_epoch"),
        resize_policy=params.get("resize_policy", "resize"),
        loss=params.get("loss", "bce+dice"),
        patience=params.get("patience"),
        augment=params.get("augment", "full"),
        precision=params.get("precision", "auto"),
        val_fraction=params.get("val_fraction", 0.2),
        validation=validation,
        cost_ratio=params.get("cost_ratio"),
        min_area=params.get("min_area"),
        fixed_threshold=params.get("fixed_threshold"),
        pos_weight=params.get("pos_weight"),
        max_seconds=params["max_minutes"] * 60 if params.get("max_minutes") else None,
        schedule=params.get("schedule", "budget"),
        ema_decay=params.get("ema_decay"),
        threads=settings.TRAINING_THREADS,
        weights_file=settings.PRETRAINED_WEIGHTS_PATH or None,
        hf_cache=settings.PRETRAINED_FROM_HF_CACHE,
    )


def _finish(job: TrainingJob, status: str, error: str) -> None:
    job.status, job.error, job.finished_at = status, error, timezone.now()
    if status == Status.SUCCEEDED:
        job.progress = 1.0
    job.save(update_fields=["status", "error", "finished_at", "progress", "history"])
    _append_log(job, f"{status}{': ' + error if error else ''}")
    notify(job.project_id, "job.updated", job_event(job))
    version = ModelVersion.objects.filter(job=job).values_list("pk", flat=True).first()
    webhooks.emit(
        [job.project_id],
        "job.finished",
        {
            "job": job.pk,
            "project": job.project_id,
            "status": job.status,
            "error": job.error,
            "model_version": version,
        },
    )


def reap_stale_jobs(now=None) -> list[int]:
    """Requeue running jobs whose worker stopped beating (killed), or fail them for good."""
    now = now or timezone.now()
    deadline = now - timedelta(seconds=settings.TRAINING_LEASE_S)
    reaped = []
    for job in TrainingJob.objects.filter(status=Status.RUNNING, heartbeat_at__lt=deadline):
        with transaction.atomic():
            fresh = TrainingJob.objects.select_for_update().get(pk=job.pk)
            if fresh.status != Status.RUNNING or fresh.heartbeat_at >= deadline:
                continue
            if fresh.attempts >= MAX_ATTEMPTS:
                _finish(
                    fresh,
                    Status.FAILED,
                    f"worker {fresh.worker} stopped responding {fresh.attempts} times",
                )
            else:
                fresh.status = Status.QUEUED
                fresh.save(update_fields=["status"])
                _append_log(fresh, f"worker {fresh.worker} stopped responding; requeued")
                enqueue(fresh)
            reaped.append(fresh.pk)
    return reaped


def promote(version: ModelVersion, user, action=audit_log.Action.MODEL_PROMOTED) -> ModelVersion:
    with transaction.atomic():
        ModelVersion.objects.filter(project=version.project, is_production=True).update(
            is_production=False
        )
        version.is_production = True
        version.is_shadow = False  # a promoted candidate is no longer in the shadows
        version.save(update_fields=["is_production", "is_shadow"])
        Promotion.objects.create(project=version.project, model_version=version, promoted_by=user)
        audit_log.record(
            user, action, version.project, f"model v{version.number}", model_version=version.pk
        )
    notify(
        version.project_id,
        "model.promoted",
        {"model_version": version.pk, "number": version.number},
    )
    return version


def set_shadow(version: ModelVersion, on: bool) -> ModelVersion:
    """Make `version` its project's shadow candidate (replacing any other), or stop shadowing.
    The production version cannot shadow itself."""
    if on and version.is_production:
        raise ValidationError({"shadow": "This version is in production already."})
    with transaction.atomic():
        if on:
            ModelVersion.objects.filter(project=version.project, is_shadow=True).update(
                is_shadow=False
            )
        version.is_shadow = on
        version.save(update_fields=["is_shadow"])
    notify(
        version.project_id,
        "model.shadow",
        {"model_version": version.pk, "number": version.number, "shadow": on},
    )
    return version


def rollback(project, user) -> ModelVersion:
    """Put back the version that was in production before the current one."""
    current = ModelVersion.objects.filter(project=project, is_production=True).first()
    history = Promotion.objects.filter(project=project).select_related("model_version")
    for promotion in history:
        if current is None or promotion.model_version_id != current.pk:
            return promote(promotion.model_version, user, audit_log.Action.MODEL_ROLLED_BACK)
    raise ValidationError({"project": "There is no earlier production version to go back to."})


def compare(a: ModelVersion, b: ModelVersion) -> dict:
    """Two versions side by side on one set of validation images.

    On one snapshot the stored validation figures compare directly. Otherwise both versions
    are re-evaluated on the validation images of the newer one's snapshot that neither
    trained on, with its label versions, each with its own decision rule.
    """
    same = bool(
        a.job and b.job and a.job.dataset_id is not None and a.job.dataset_id == b.job.dataset_id
    )
    basis = "stored validation split"
    if same:
        left, right = _figures(a, _validation_metrics(a)), _figures(b, _validation_metrics(b))
    else:
        held_out = _shared_held_out(a, b)
        if held_out:
            basis = f"re-evaluated on {len(held_out)} validation images neither trained on"
            left, right = (_figures(v, _evaluate_on(v, held_out)) for v in (a, b))
        else:
            basis = "stored figures of different validation images (no shared held-out images)"
            left, right = _figures(a, _validation_metrics(a)), _figures(b, _validation_metrics(b))
    deltas = {
        k: right[k] - left[k]
        for k in ("pixel_iou", "image_f1", "image_auroc")
        if isinstance(left[k], float) and isinstance(right[k], float)
    }
    comparable = same or basis.startswith("re-evaluated")
    return {
        "a": left,
        "b": right,
        "same_validation_split": same,
        "comparable": comparable,
        "basis": basis,
        "delta_b_minus_a": deltas,
    }


def _validation_metrics(v: ModelVersion) -> dict:
    return v.metrics.get("validation") or v.metrics.get("train") or {}


def _figures(v: ModelVersion, val: dict) -> dict:
    return {
        "id": v.pk,
        "number": v.number,
        "is_production": v.is_production,
        "threshold": v.threshold,
        "min_area": v.min_area,
        "pixel_threshold": v.pixel_threshold,
        "images": val.get("images"),
        "pixel_iou": val.get("pixel", {}).get("all", {}).get("iou"),
        "image_f1": val.get("image", {}).get("f1"),
        "image_precision": val.get("image", {}).get("precision"),
        "image_recall": val.get("image", {}).get("recall"),
        "image_auroc": val.get("image", {}).get("auroc"),
        "params": v.job.params if v.job else {},
    }


def _training_images(v: ModelVersion) -> set[int]:
    dataset = v.job.dataset if v.job else None
    if dataset is None:
        return set()
    return set(dataset.image_ids) - set(dataset.validation)


def _shared_held_out(a: ModelVersion, b: ModelVersion) -> dict[int, LabelVersion]:
    """Validation images of the newer version's snapshot that neither version trained on."""
    newer = b if b.number >= a.number else a
    if not (newer.job and newer.job.dataset):
        return {}
    seen = _training_images(a) | _training_images(b)
    labels = dataset_labels(newer.job.dataset)
    return {i: labels[i] for i in newer.job.dataset.validation if i not in seen and i in labels}


def _evaluate_on(v: ModelVersion, labels: dict[int, LabelVersion]) -> dict:
    from training.ml.metrics import DecisionRule, evaluate

    # fp32: the comparison is about the models, not about a runtime's rounding.
    loaded = registry.load(v, runtime.ORT_FP32)
    images = Image.objects.in_bulk(list(labels))
    probs, targets = [], []
    for image_id, version in sorted(labels.items()):
        pixels = to_rgb_array(read_bytes(images[image_id].file.name))
        probs.append(loaded.predict([pixels])[0])
        targets.append(version_mask(version, *pixels.shape[:2]).astype(np.float32) / 255.0)
    rule = DecisionRule(v.threshold, v.min_area, "stored", 0.0)
    return evaluate(probs, targets, v.pixel_threshold, rule)


def predict_image(version: ModelVersion, image: Image) -> np.ndarray:
    """The version's probability map for one stored image (uint8, value/255)."""
    prob = registry.load(version).predict([to_rgb_array(read_bytes(image.file.name))])[0]
    return np.clip(prob * 255 + 0.5, 0, 255).astype(np.uint8)
