"""The inference engine: runs each defect project's model on every view of an object and
judges each view by the model's decision rule. Models come from training.registry, on the
runtime chosen for each version; nothing here imports torch."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from training.ml.data import batch_inputs
from training.ml.metrics import image_scores
from training.registry import LoadedModel


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
    """Every model on every view: [(model, [ViewResult per view])].

    Views are resized and normalised once per input size and policy, not once per model: six
    defect models of one architecture share that work.
    """
    images = [image for _, image in views]
    prepared: dict[tuple, tuple] = {}
    results = []
    for model in models:
        key = (tuple(model.meta.input_size), model.meta.resize_policy)
        if key not in prepared:
            prepared[key] = batch_inputs(images, *key)
        probs = model.predict_prepared(*prepared[key])
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
