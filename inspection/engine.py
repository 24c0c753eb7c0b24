"""The inference engine: runs each defect project's model on every view of an object.

It serves the ONNX export of a model version through ONNX Runtime, so the serving path does
not import torch. Loaded models are cached per process by model version.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np
from django.conf import settings

from defect_platform.core.storage import read_bytes
from training.ml.data import batch_inputs, unfit
from training.ml.meta import ModelMeta
from training.ml.metrics import image_scores
from training.models import ModelVersion


class NoModel(Exception):
    """A project that has no trained model to inspect with."""


@dataclass
class LoadedModel:
    project_id: int
    defect_type: str
    version_id: int
    version_number: int
    threshold: float
    min_area: int
    pixel_threshold: float
    meta: ModelMeta
    runtime: str
    session: object

    def predict(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Probability maps at each image's own size."""
        x, placements = batch_inputs(images, tuple(self.meta.input_size), self.meta.resize_policy)
        probs = self.session.run(None, {"image": x})[0][:, 0]
        return [unfit(p, pl) for p, pl in zip(probs, placements, strict=True)]


@dataclass
class ViewResult:
    camera: str
    score: float
    area_px: int
    bbox: list[int] | None
    mask: np.ndarray | None  # uint8 0/255 at image size, only when defective

    @property
    def defective(self) -> bool:
        return self.mask is not None


_cache: dict[int, LoadedModel] = {}
_lock = threading.Lock()


def load(version: ModelVersion) -> LoadedModel:
    with _lock:
        cached = _cache.get(version.pk)
        if cached:
            return cached
    from training.ml.runtime import onnx_session

    if not version.onnx:
        raise NoModel(f"Model version {version.pk} has no ONNX export; retrain it.")
    meta = ModelMeta.from_json(version.metadata["meta"])
    session = onnx_session(read_bytes(version.onnx.name), settings.INFERENCE_THREADS)
    loaded = LoadedModel(
        project_id=version.project_id,
        defect_type=version.project.name,
        version_id=version.pk,
        version_number=version.number,
        threshold=version.threshold,
        min_area=version.min_area,
        pixel_threshold=version.pixel_threshold,
        meta=meta,
        runtime="onnxruntime-fp32",
        session=session,
    )
    with _lock:
        _cache[version.pk] = loaded
    return loaded


def model_for_project(project) -> ModelVersion:
    """The production version, else the latest one."""
    versions = ModelVersion.objects.filter(project=project).select_related("project")
    version = versions.filter(is_production=True).first() or versions.order_by("-number").first()
    if version is None:
        raise NoModel(f"Project {project.name!r} has no trained model yet; train one first.")
    return version


def judge_view(camera: str, prob: np.ndarray, model: LoadedModel) -> ViewResult:
    """The image rule decides (at least min_area pixels at >= threshold); the mask is drawn at
    the pixel threshold."""
    score = float(prob.max()) if prob.size else 0.0
    if image_scores(prob, [model.min_area])[0] < model.threshold:
        return ViewResult(camera, score, 0, None, None)
    mask = prob >= model.pixel_threshold
    if not mask.any():
        mask = prob >= model.threshold
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    return ViewResult(camera, score, int(mask.sum()), [x, y, w, h], mask.astype(np.uint8) * 255)


def run(models: list[LoadedModel], views: list[tuple[str, np.ndarray]]):
    """Every model on every view: [(model, [ViewResult per view])]."""
    images = [image for _, image in views]
    results = []
    for model in models:
        probs = model.predict(images)
        results.append(
            (
                model,
                [
                    judge_view(camera, prob, model)
                    for (camera, _), prob in zip(views, probs, strict=True)
                ],
            )
        )
    return results
