"""Segmentation losses for rare defect pixels and soft (probability) labels.

Targets are probabilities in [0, 1]: hard masks give 0 and 1, soft labels (disputed borders,
the mean of several annotators) give values between.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F  # noqa: N812

# Pixel ratios of 700-1000 negatives per positive are common; an uncapped weight would make
# the model paint everything.
MAX_AUTO_POS_WEIGHT = 50.0
LOSS_NAMES = ("bce", "dice", "focal", "soft")


def auto_pos_weight(positive_fraction: float, cap: float = MAX_AUTO_POS_WEIGHT) -> float:
    """Negatives per positive, capped: the class weight of BCE for rare defect pixels."""
    if positive_fraction <= 0:
        return cap
    return float(min(cap, max(1.0, (1 - positive_fraction) / positive_fraction)))


def _bce_map(logits: torch.Tensor, target: torch.Tensor, pos_weight: float) -> torch.Tensor:
    weight = torch.tensor(pos_weight, device=logits.device, dtype=logits.dtype)
    return F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight, reduction="none")


def weighted_bce(logits: torch.Tensor, target: torch.Tensor, pos_weight: float) -> torch.Tensor:
    """BCE with the positive term weighted by `pos_weight` (the class weight)."""
    return _bce_map(logits, target, pos_weight).mean()


def confidence_weights(target: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """w(y) = |2y - 1| ** gamma: 1 for certain labels (0 or 1), 0 for a coin flip (0.5)."""
    return (2 * target - 1).abs().pow(gamma)


def soft_confidence_bce(
    logits: torch.Tensor, target: torch.Tensor, pos_weight: float, gamma: float = 1.0
) -> torch.Tensor:
    """The soft-label confidence-weighted loss.

        L = sum_i w(y_i) * BCE_pw(p_i, y_i) / sum_i w(y_i),   w(y) = |2y - 1| ** gamma

    where BCE_pw(p, y) = -(pw * y * log p + (1 - y) * log(1 - p)). Pixels whose label is near
    0 or 1 (undisputed) count fully; a label of exactly 0.5 counts nothing, so the model is not
    punished on areas annotators disagree about. For hard labels every weight is 1 and the loss
    equals `weighted_bce`. The target stays soft inside the BCE, so a disputed pixel at 0.8
    still pulls the prediction towards 0.8, only with less force.
    """
    weights = confidence_weights(target, gamma)
    total = weights.sum()
    if total <= 0:
        return logits.sum() * 0.0
    return (weights * _bce_map(logits, target, pos_weight)).sum() / total


def soft_dice(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    prob = torch.sigmoid(logits)
    dims = tuple(range(1, prob.ndim))
    inter = (prob * target).sum(dims)
    total = prob.sum(dims) + target.sum(dims)
    return (1 - (2 * inter + eps) / (total + eps)).mean()


def focal(
    logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.75, gamma: float = 2.0
) -> torch.Tensor:
    """Binary focal loss (Lin et al.) on probability targets; alpha weighs positives."""
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    prob = torch.sigmoid(logits)
    p_t = prob * target + (1 - prob) * (1 - target)
    alpha_t = alpha * target + (1 - alpha) * (1 - target)
    return (alpha_t * (1 - p_t).pow(gamma) * bce).mean()


def make_loss(spec: str, pos_weight: float) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A loss from a spec like "bce+dice" or "soft+dice": the sum of the named parts."""
    parts = [p.strip() for p in spec.split("+") if p.strip()]
    unknown = [p for p in parts if p not in LOSS_NAMES]
    if not parts or unknown:
        raise ValueError(f"unknown loss {spec!r}; combine {', '.join(LOSS_NAMES)} with '+'")
    table = {
        "bce": lambda lo, t: weighted_bce(lo, t, pos_weight),
        "soft": lambda lo, t: soft_confidence_bce(lo, t, pos_weight),
        "dice": soft_dice,
        "focal": focal,
    }
    chosen = [table[p] for p in parts]

    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sum(fn(logits, target) for fn in chosen)

    return loss
