"""Pixel and image-level metrics on probability maps (numpy, no torch)."""

from __future__ import annotations

import numpy as np


def _safe(num: float, den: float, empty: float = 1.0) -> float:
    return float(num / den) if den else empty


def pixel_scores(prob: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> dict:
    """IoU, Dice, precision, recall of the defect class over all pixels given.

    `target` holds probabilities in [0, 1]; pixels >= 0.5 count as defect.
    """
    pred = prob >= threshold
    truth = target >= 0.5
    tp = float(np.logical_and(pred, truth).sum())
    fp = float(np.logical_and(pred, ~truth).sum())
    fn = float(np.logical_and(~pred, truth).sum())
    return {
        "iou": _safe(tp, tp + fp + fn),
        "dice": _safe(2 * tp, 2 * tp + fp + fn),
        "precision": _safe(tp, tp + fp),
        "recall": _safe(tp, tp + fn),
    }


def image_is_defective(prob: np.ndarray, threshold: float, min_area: int) -> bool:
    return int((prob >= threshold).sum()) >= max(1, min_area)


def detection_scores(predicted: list[bool], actual: list[bool]) -> dict:
    p = np.asarray(predicted, dtype=bool)
    a = np.asarray(actual, dtype=bool)
    tp = int((p & a).sum())
    fp = int((p & ~a).sum())
    fn = int((~p & a).sum())
    tn = int((~p & ~a).sum())
    precision = _safe(tp, tp + fp)
    recall = _safe(tp, tp + fn)
    f1 = _safe(2 * precision * recall, precision + recall, empty=0.0)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def evaluate(
    probs: list[np.ndarray], targets: list[np.ndarray], threshold: float, min_area: int
) -> dict:
    """Pixel scores over all images pooled, and image-level detection scores."""
    if not probs:
        return {}
    pixel = pixel_scores(
        np.concatenate([p.ravel() for p in probs]),
        np.concatenate([t.ravel() for t in targets]),
        threshold,
    )
    detection = detection_scores(
        [image_is_defective(p, threshold, min_area) for p in probs],
        [bool((t >= 0.5).any()) for t in targets],
    )
    return {"pixel": pixel, "image": detection, "images": len(probs)}
