"""Pixel and image-level metrics, and the choice of thresholds (numpy only).

Two different choices are made here, on purpose separately:
- the pixel threshold turns probabilities into masks (judged by IoU of defect pixels);
- the image decision rule says whether an image is defective: at least `min_area` pixels with
  probability >= `threshold` (judged by image-level F1 or by a cost).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.05), 4)


def _safe(num: float, den: float, empty: float = 1.0) -> float:
    return float(num / den) if den else empty


def disputed(target: np.ndarray) -> np.ndarray:
    """Pixels whose label is neither 0 nor 1 (soft labels)."""
    return (target > 0) & (target < 1)


def pixel_scores(prob: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> dict:
    """IoU, Dice, precision, recall of the defect class over the pixels given.

    `target` holds probabilities in [0, 1]; pixels >= 0.5 count as defect.
    """
    pred = prob >= threshold
    truth = target >= 0.5
    tp = float(np.count_nonzero(pred & truth))
    fp = float(np.count_nonzero(pred & ~truth))
    fn = float(np.count_nonzero(~pred & truth))
    return {
        "iou": _safe(tp, tp + fp + fn),
        "dice": _safe(2 * tp, 2 * tp + fp + fn),
        "precision": _safe(tp, tp + fp),
        "recall": _safe(tp, tp + fn),
    }


def pixel_report(probs: list[np.ndarray], targets: list[np.ndarray], threshold: float) -> dict:
    """Pixel scores over all pixels, and over undisputed pixels only when labels are soft."""
    prob = np.concatenate([p.ravel() for p in probs])
    target = np.concatenate([t.ravel() for t in targets])
    report = {"all": pixel_scores(prob, target, threshold), "threshold": threshold}
    soft = disputed(target)
    report["disputed_fraction"] = float(soft.mean())
    if soft.any():
        report["undisputed"] = pixel_scores(prob[~soft], target[~soft], threshold)
    return report


def image_scores(prob: np.ndarray, areas: np.ndarray) -> np.ndarray:
    """For each min area a: the a-th largest probability of the image.

    An image is defective under (threshold t, min area a) exactly when this score is >= t, so
    one number per area describes the image for every threshold at once. An area larger than
    the image scores 0: no image has more pixels than it holds.
    """
    flat = prob.ravel()
    ks = np.asarray(areas, dtype=np.int64)
    top = np.sort(flat)[::-1]
    scores = top[np.clip(ks, 1, max(1, flat.size)) - 1] if flat.size else np.zeros(len(ks))
    return np.where(ks > flat.size, 0.0, scores).astype(top.dtype)


def detection_scores(predicted, actual) -> dict:
    p = np.asarray(predicted, dtype=bool)
    a = np.asarray(actual, dtype=bool)
    tp = int(np.count_nonzero(p & a))
    fp = int(np.count_nonzero(p & ~a))
    fn = int(np.count_nonzero(~p & a))
    tn = int(np.count_nonzero(~p & ~a))
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


def auroc(scores, actual) -> float | None:
    """Area under the ROC curve (Mann-Whitney); None without both classes."""
    s = np.asarray(scores, dtype=np.float64)
    a = np.asarray(actual, dtype=bool)
    pos, neg = s[a], s[~a]
    if not len(pos) or not len(neg):
        return None
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def pr_curve(scores, actual) -> list[dict]:
    """Precision and recall at every distinct score used as a threshold (highest first)."""
    s = np.asarray(scores, dtype=np.float64)
    a = np.asarray(actual, dtype=bool)
    points = []
    for t in np.unique(s)[::-1]:
        d = detection_scores(s >= t, a)
        points.append({"threshold": float(t), "precision": d["precision"], "recall": d["recall"]})
    return points


@dataclass(frozen=True)
class DecisionRule:
    threshold: float
    min_area: int
    objective: str
    score: float

    def to_dict(self) -> dict:
        return asdict(self)


def _smooth(grid: np.ndarray) -> np.ndarray:
    """Mean over each cell's 3x3 neighbourhood: a choice that survives small changes of the
    rule, instead of a lucky spike on a split with a handful of defective images."""
    padded = np.pad(grid, 1, mode="edge")
    out = np.zeros_like(grid)
    for dy in range(3):
        for dx in range(3):
            out += padded[dy : dy + grid.shape[0], dx : dx + grid.shape[1]]
    return out / 9.0


def _objective(pred: np.ndarray, actual: np.ndarray, cost_ratio: float | None) -> np.ndarray:
    """Objective per rule; pred is [rules, images]. Higher is better."""
    a = actual[None, :]
    tp = (pred & a).sum(1)
    fp = (pred & ~a).sum(1)
    fn = (~pred & a).sum(1)
    if cost_ratio is not None:
        # A missed defect costs `cost_ratio` false rejects; negated so higher is better.
        return -(cost_ratio * fn + fp) / max(1, actual.size)
    return np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(1, 2 * tp + fp + fn), 0.0)


def area_grid(max_area: int) -> np.ndarray:
    grid = [1]
    while grid[-1] * 2 <= max_area:
        grid.append(grid[-1] * 2)
    return np.asarray(grid, dtype=np.int64)


def _widened(thresholds: np.ndarray, best: int) -> np.ndarray | None:
    """The grid stretched towards the edge the best threshold sits on (a quarter of the way
    left to 0 or 1); None when the best is inside the grid or the edge is already extreme."""
    low, high = thresholds[0], thresholds[-1]
    if best == 0 and low > 0.0015:
        return np.unique(np.concatenate([np.linspace(low / 4, low, 4), thresholds]))
    if best == len(thresholds) - 1 and high < 0.9985:
        top = 1 - (1 - high) / 4
        return np.unique(np.concatenate([thresholds, np.linspace(high, top, 4)]))
    return None


def choose_decision_rule(
    probs: list[np.ndarray],
    actual,
    cost_ratio: float | None = None,
    thresholds=THRESHOLDS,
    areas=None,
) -> DecisionRule:
    """The image rule (threshold, min area) with the best smoothed F1 (or lowest cost).

    Never settles on the edge of the threshold grid: when the best is there, the grid is
    widened towards it and the search repeated.
    """
    actual = np.asarray(actual, dtype=bool)
    if areas is None:
        areas = area_grid(max(1, min(p.size for p in probs) // 8))
    thresholds = np.asarray(thresholds, dtype=np.float64)
    scores = np.stack([image_scores(p, areas) for p in probs])  # [images, areas]
    for _ in range(4):
        pred = scores[None, :, :] >= thresholds[:, None, None]  # [t, images, areas]
        flat = pred.transpose(0, 2, 1).reshape(-1, len(actual))
        raw = _objective(flat, actual, cost_ratio).reshape(len(thresholds), len(areas))
        smooth = _smooth(raw)
        ti, ai = np.unravel_index(np.argmax(smooth), smooth.shape)
        wider = _widened(thresholds, int(ti))
        if wider is None:
            break
        thresholds = wider
    name = "cost" if cost_ratio is not None else "f1"
    return DecisionRule(float(thresholds[ti]), int(areas[ai]), name, float(raw[ti, ai]))


def choose_pixel_threshold(
    probs: list[np.ndarray], targets: list[np.ndarray], thresholds=THRESHOLDS
) -> float:
    """The pixel threshold with the best smoothed IoU of defect pixels (undisputed ones).

    Like the decision rule, it never settles on the edge of the grid: a model that is sure of
    few pixels (best at 0.05) or of many (best at 0.95) gets the grid widened towards that edge.
    """
    prob = np.concatenate([p.ravel() for p in probs])
    target = np.concatenate([t.ravel() for t in targets])
    keep = ~disputed(target)
    prob, truth = prob[keep], (target[keep] >= 0.5).astype(np.float32)
    if not truth.any():
        return 0.5
    thresholds = np.asarray(thresholds, dtype=np.float64)
    for _ in range(4):
        ious = np.array([pixel_scores(prob, truth, t)["iou"] for t in thresholds])
        padded = np.pad(ious, 1, mode="edge")
        best = int(np.argmax((padded[:-2] + padded[1:-1] + padded[2:]) / 3))
        wider = _widened(thresholds, best)
        if wider is None:
            break
        thresholds = wider
    return float(thresholds[best])


def evaluate(
    probs: list[np.ndarray], targets: list[np.ndarray], pixel_threshold: float, rule: DecisionRule
) -> dict:
    """Every metric of one split: pixel level, image level, PR curve, and per image."""
    if not probs:
        return {}
    actual = [bool((t >= 0.5).any()) for t in targets]
    score = [float(image_scores(p, [rule.min_area])[0]) for p in probs]
    predicted = [s >= rule.threshold for s in score]
    per_image = []
    for i, (p, t) in enumerate(zip(probs, targets, strict=True)):
        per_image.append(
            {
                "index": i,
                "score": round(score[i], 5),
                "actual": actual[i],
                "predicted": predicted[i],
                "iou": round(pixel_scores(p, t, pixel_threshold)["iou"], 5),
            }
        )
    return {
        "images": len(probs),
        "positives": int(sum(actual)),
        "pixel": pixel_report(probs, targets, pixel_threshold),
        "image": detection_scores(predicted, actual) | {"auroc": auroc(score, actual)},
        "pr_curve": pr_curve(score, actual),
        "per_image": per_image,
    }
