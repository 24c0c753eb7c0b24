"""How far annotators agree on one defect type, at the pixel level (no Django here).

Masks are HxW uint8 (value/255 = probability of defect); agreement compares their binary
form (>= 128). An explicit "no defect" label is an all-zero mask, so two annotators who both
say "no defect" agree fully (IoU 1), and one who paints a defect where the other saw none
agrees not at all (IoU 0).

Pixel kappa is Cohen's kappa on the pooled pixel confusion counts of every annotator pair on
every image: per-image kappa is undefined on images where both masks are empty, and Fleiss'
kappa needs the same number of annotators on every image, which an overlap setting does not
guarantee.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

HISTOGRAM_BINS = 10  # IoU bands of 0.1: [0, 0.1), ..., [0.9, 1.0]


def _binary(mask: np.ndarray) -> np.ndarray:
    return np.asarray(mask) >= 128


def iou_and_dice(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    a, b = _binary(a), _binary(b)
    inter = int(np.count_nonzero(a & b))
    union = int(np.count_nonzero(a | b))
    total = int(np.count_nonzero(a)) + int(np.count_nonzero(b))
    if union == 0:
        return 1.0, 1.0
    return inter / union, 2 * inter / total


def pair_counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[both defect, only a, only b, both clean] pixel counts."""
    a, b = _binary(a), _binary(b)
    both = int(np.count_nonzero(a & b))
    only_a = int(np.count_nonzero(a & ~b))
    only_b = int(np.count_nonzero(~a & b))
    return np.array([both, only_a, only_b, a.size - both - only_a - only_b], dtype=np.int64)


def cohen_kappa(counts: np.ndarray) -> float | None:
    """Kappa of pooled pair counts; None when chance agreement is total (all one class)."""
    both, only_a, only_b, clean = (float(c) for c in counts)
    n = both + only_a + only_b + clean
    if n == 0:
        return None
    observed = (both + clean) / n
    a_defect, b_defect = (both + only_a) / n, (both + only_b) / n
    expected = a_defect * b_defect + (1 - a_defect) * (1 - b_defect)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


def pairwise(masks: dict[str, np.ndarray]) -> list[dict]:
    rows = []
    for a, b in combinations(sorted(masks), 2):
        iou, dice = iou_and_dice(masks[a], masks[b])
        rows.append({"a": a, "b": b, "iou": iou, "dice": dice})
    return rows


def consensus(masks: list[np.ndarray]) -> np.ndarray:
    """The mean of the annotators' masks: a soft label in which k of n annotators painting a
    pixel gives it probability k/n (soft masks average their own values)."""
    stack = np.stack([np.asarray(m, np.float32) for m in masks])
    return np.clip(stack.mean(axis=0) + 0.5, 0, 255).astype(np.uint8)


def disagreement_map(masks: list[np.ndarray]) -> np.ndarray:
    """uint8 heat map: 0 where all annotators agree, 255 where they split evenly (4p(1-p)
    with p the share of annotators painting the pixel)."""
    p = np.mean([_binary(m) for m in masks], axis=0)
    return np.round(4 * p * (1 - p) * 255).astype(np.uint8)


def summarise(
    images: dict[int, dict[str, np.ndarray]], accepted: dict[int, tuple[str, np.ndarray]] = None
) -> dict:
    """Per image, per annotator and per project figures for {image id: {annotator: mask}}
    (images with fewer than two annotators are left out of the pairwise figures).

    `accepted` ({image id: (its annotator, mask)}) adds each annotator's mean IoU with the
    labels reviewers accepted on images they also labelled (their own accepted ones aside)."""
    per_image, per_annotator, pooled = [], {}, np.zeros(4, dtype=np.int64)
    for image_id, masks in sorted(images.items()):
        if len(masks) < 2:
            continue
        pairs = pairwise(masks)
        for a, b in combinations(sorted(masks), 2):
            pooled += pair_counts(masks[a], masks[b])
        for row in pairs:
            for who in (row["a"], row["b"]):
                per_annotator.setdefault(who, []).append(row["iou"])
        per_image.append(
            {
                "image": image_id,
                "annotators": sorted(masks),
                "mean_iou": float(np.mean([r["iou"] for r in pairs])),
                "mean_dice": float(np.mean([r["dice"] for r in pairs])),
                "pairs": pairs,
            }
        )
    ious = [row["mean_iou"] for row in per_image]
    with_accepted: dict[str, list[float]] = {}
    for image_id, (author, reference) in (accepted or {}).items():
        for who, mask in images.get(image_id, {}).items():
            if who != author:
                with_accepted.setdefault(who, []).append(iou_and_dice(mask, reference)[0])
    people = sorted(set(per_annotator) | set(with_accepted))
    return {
        "images": len(per_image),
        "mean_iou": float(np.mean(ious)) if ious else None,
        "iou_quartiles": [float(q) for q in np.percentile(ious, [25, 50, 75])] if ious else [],
        "pixel_kappa": cohen_kappa(pooled) if per_image else None,
        "iou_histogram": iou_histogram(ious),
        "annotators": {
            who: {
                "images": len(per_annotator.get(who, [])),
                "mean_iou_with_others": _mean(per_annotator.get(who)),
                "accepted_compared": len(with_accepted.get(who, [])),
                "mean_iou_with_accepted": _mean(with_accepted.get(who)),
            }
            for who in people
        },
        "per_image": sorted(per_image, key=lambda row: row["mean_iou"]),
    }


def iou_histogram(ious: list[float], bins: int = HISTOGRAM_BINS) -> dict:
    """How many images fall in each IoU band of width 1/bins; IoU 1 joins the top band."""
    index = np.minimum((np.asarray(ious, dtype=np.float64) * bins).astype(int), bins - 1)
    counts = np.bincount(index, minlength=bins) if len(ious) else np.zeros(bins, int)
    return {
        "edges": [round(i / bins, 6) for i in range(bins + 1)],
        "counts": [int(c) for c in counts],
    }


def _mean(values) -> float | None:
    return float(np.mean(values)) if values else None
