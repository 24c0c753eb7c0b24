"""The inference engine: runs each defect project's model on every view of an object.

Loaded models are cached per process by model version, so a request pays for loading once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from defect_platform.core.storage import read_bytes
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
    input_size: tuple[int, int]
    runtime: str
    net: object

    def predict(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Probability maps at model input size."""
        from training.ml.train import predict_probs

        return predict_probs(self.net, images, self.input_size)


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
    from training.ml.artifact import ModelMeta, load_model

    meta = ModelMeta.from_json(version.metadata["meta"])
    net = load_model(read_bytes(version.weights.name), meta)
    loaded = LoadedModel(
        project_id=version.project_id,
        defect_type=version.project.name,
        version_id=version.pk,
        version_number=version.number,
        threshold=version.threshold,
        min_area=version.min_area,
        input_size=tuple(meta.input_size),
        runtime="torch-fp32",
        net=net,
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


def _view_result(camera: str, prob: np.ndarray, shape: tuple[int, int], model: LoadedModel):
    full = cv2.resize(prob, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    mask = full >= model.threshold
    area = int(mask.sum())
    score = float(full.max()) if full.size else 0.0
    if area < max(1, model.min_area):
        return ViewResult(camera, score, area, None, None)
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    return ViewResult(camera, score, area, [x, y, w, h], mask.astype(np.uint8) * 255)


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
                    _view_result(camera, prob, image.shape[:2], model)
                    for (camera, image), prob in zip(views, probs, strict=True)
                ],
            )
        )
    return results
