"""Fused models: training one network for several defect projects (a station's), the accuracy
gate of its serving runtime, and its accuracy next to the projects' own models on the same
validation images (training.ml.fused holds the network and its loss)."""

from __future__ import annotations

import logging

import numpy as np
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from annotation.imaging import to_rgb_array
from annotation.models import Image, LabelVersion
from annotation.services import training_labels, version_mask
from defect_platform.core.storage import read_bytes, save_bytes, unique_name
from training import registry
from training.models import FusedModel
from training.services import input_size_for

log = logging.getLogger(__name__)


def create(projects, user, params: dict, name: str = "") -> FusedModel:
    """Queue a fused model over `projects` (channel k = projects[k])."""
    projects = list(projects)
    if len(projects) < 2:
        raise ValidationError({"projects": "A fused model covers two or more defect projects."})
    sizes = {(*input_size_for(p), p.resize_policy) for p in projects}
    if len(sizes) > 1:
        raise ValidationError(
            {"projects": "The projects' input sizes or resize policies differ; align them."}
        )
    empty = [p.name for p in projects if not training_labels(p)]
    if empty:
        raise ValidationError({"projects": f"No labelled images yet in {', '.join(empty)}."})
    first = projects[0]
    params = {
        "epochs": 20,
        "batch_size": 4,
        "lr": 1e-3,
        "seed": 0,
        **params,
        "input_size": input_size_for(first),
        "resize_policy": first.resize_policy,
    }
    fused = FusedModel.objects.create(
        name=name or " + ".join(p.name for p in projects),
        params=params,
        channels=[{"project": p.pk, "defect_type": p.name} for p in projects],
        created_by=user,
    )
    from training.tasks import train_fused_model

    transaction.on_commit(lambda: train_fused_model.delay(fused.pk))
    return fused


def _samples(projects):
    """Every project's training labels as fused samples: a mask teaches its project's channel,
    a negative teaches every channel; and, per channel, its validation candidates."""
    from training.ml.fused import FusedSample

    samples = []
    for k, project in enumerate(projects):
        labels = training_labels(project)
        images = Image.objects.in_bulk(list(labels))
        for image_id, version in sorted(labels.items()):
            pixels = to_rgb_array(read_bytes(images[image_id].file.name))
            mask = version_mask(version, *pixels.shape[:2])
            negative = version.kind == LabelVersion.Kind.NEGATIVE
            samples.append(FusedSample(pixels, mask, None if negative else k))
    return samples


def run(fused_id: int, isolate_runtimes: bool = False) -> FusedModel:
    from training.ml import export, runtime_gate
    from training.ml.fused import train_fused
    from training.ml.model import ModelConfig
    from training.ml.train import lower_priority
    from training.services import train_config

    fused = FusedModel.objects.get(pk=fused_id)
    FusedModel.objects.filter(pk=fused_id).update(status=FusedModel.Status.RUNNING)
    lower_priority()
    try:
        from defect_platform.core.models import Project

        by_id = Project.objects.in_bulk(fused.project_ids)
        projects = [by_id[pk] for pk in fused.project_ids]
        samples = _samples(projects)
        config = train_config(fused.params)
        result = train_fused(samples, len(projects), ModelConfig(), config)
        onnx = export.to_onnx(result.model, config.input_size)
        per_channel = []
        for k, channel in enumerate(result.channels):
            held = [i for i in result.val_indices if samples[i].channel in (k, None)]
            held = held or [i for i in result.train_indices if samples[i].channel in (k, None)]
            per_channel.append(
                (
                    [samples[i].image for i in held],
                    [samples[i].mask for i in held],
                    channel.rule,
                    channel.pixel_threshold,
                )
            )
        # The images int8 is calibrated on, picked here: the gate may run in a child process
        # that is handed every image it is given.
        picked = np.random.default_rng(0).permutation(result.train_indices)
        calibration = [samples[i].image for i in picked[: runtime_gate.CALIBRATION_IMAGES]]
        gate_args = (onnx, per_channel, config.input_size, config.resize_policy, 1, calibration)
        gate, int8 = (
            runtime_gate.in_child(runtime_gate.gate_channels, *gate_args)
            if isolate_runtimes
            else runtime_gate.gate_channels(*gate_args)
        )
        comparison = compare_with_ensemble(projects, samples, result, per_channel, onnx, config)
    except Exception as exc:
        log.exception("fused model %s failed", fused_id)
        FusedModel.objects.filter(pk=fused_id).update(
            status=FusedModel.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
        raise
    from training.ml.meta import ModelMeta

    first = result.channels[0]
    meta = ModelMeta(
        ModelConfig(classes=len(projects)),
        tuple(config.input_size),
        first.rule.threshold,
        first.rule.min_area,
        first.pixel_threshold,
        config.resize_policy,
    )
    name = save_bytes(unique_name("fused", ".onnx"), onnx)
    if int8:
        fused.int8_model = save_bytes(unique_name("fused", ".int8.xml"), int8[0])
        fused.int8_weights = save_bytes(unique_name("fused", ".int8.bin"), int8[1])
    fused.channels = [
        channel_entry
        | {
            "threshold": c.rule.threshold,
            "min_area": c.rule.min_area,
            "pixel_threshold": c.pixel_threshold,
            "metrics": _brief(c.metrics.get("validation") or c.metrics.get("train", {})),
        }
        for channel_entry, c in zip(fused.channels, result.channels, strict=True)
    ]
    fused.onnx, fused.runtime = name, gate["chosen"]
    fused.metadata = {
        "meta": meta.to_json(),
        "runtime_gate": gate,
        "comparison": comparison,
        "history": result.history,
        "images": len(samples),
    }
    fused.status, fused.finished_at = FusedModel.Status.SUCCEEDED, timezone.now()
    fused.save()
    return fused


def _brief(found: dict) -> dict:
    image = found.get("image", {})
    pixel = found.get("pixel", {}).get("all", {})
    return {"image_f1": image.get("f1"), "pixel_iou": pixel.get("iou")}


def compare_with_ensemble(projects, samples, result, per_channel, onnx, config) -> list[dict]:
    """Per channel: the fused model's validation figures beside the project's own model's
    (production, else latest) on the same images, both in fp32, so the two options are
    compared on equal terms. A project without a model gets the fused figures only."""
    from training.ml import metrics, runtime
    from training.ml.meta import ModelMeta
    from training.ml.runtime_gate import ChannelRunner, predict_all

    fused_runner = runtime.open_runner(runtime.ORT_FP32, onnx)
    size, policy = tuple(config.input_size), config.resize_policy
    out = []
    for k, (project, (images, masks, rule, pixel_threshold)) in enumerate(
        zip(projects, per_channel, strict=True)
    ):
        targets = [m.astype(np.float32) / 255.0 for m in masks]
        fused_probs = predict_all(ChannelRunner(fused_runner, k), images, size, policy)
        row = {
            "project": project.pk,
            "defect_type": project.name,
            "images": len(images),
            "fused": _brief(metrics.evaluate(fused_probs, targets, pixel_threshold, rule)),
        }
        try:
            version = registry.model_for_project(project)
        except registry.NoModel:
            row["own_model"] = None
        else:
            own = runtime.open_runner(runtime.ORT_FP32, read_bytes(version.onnx.name))
            own_meta = ModelMeta.from_json(version.metadata["meta"])
            own_rule = metrics.DecisionRule(version.threshold, version.min_area, "stored", 0.0)
            own_probs = predict_all(own, images, tuple(own_meta.input_size), own_meta.resize_policy)
            found = metrics.evaluate(own_probs, targets, version.pixel_threshold, own_rule)
            row["own_model"] = {"model_version": version.pk} | _brief(found)
        out.append(row)
    return out


def serving_models(fused: FusedModel) -> list:
    """The fused model as one loaded model per channel (registry.load_fused)."""
    return registry.load_fused(fused)
