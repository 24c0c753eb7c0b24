"""Segmentation losses for rare positive pixels."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812

# Pixel ratios of 700-1000 negatives per positive are common; an uncapped weight would make
# the model paint everything.
MAX_AUTO_POS_WEIGHT = 50.0


def auto_pos_weight(positive_fraction: float, cap: float = MAX_AUTO_POS_WEIGHT) -> float:
    """Negatives per positive, capped: the class weight of BCE for rare defect pixels."""
    if positive_fraction <= 0:
        return cap
    return float(min(cap, max(1.0, (1 - positive_fraction) / positive_fraction)))


def weighted_bce(logits: torch.Tensor, target: torch.Tensor, pos_weight: float) -> torch.Tensor:
    weight = torch.tensor(pos_weight, device=logits.device, dtype=logits.dtype)
    return F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight)


def soft_dice(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    prob = torch.sigmoid(logits)
    dims = tuple(range(1, prob.ndim))
    inter = (prob * target).sum(dims)
    total = prob.sum(dims) + target.sum(dims)
    return (1 - (2 * inter + eps) / (total + eps)).mean()


def bce_dice(logits: torch.Tensor, target: torch.Tensor, pos_weight: float) -> torch.Tensor:
    return weighted_bce(logits, target, pos_weight) + soft_dice(logits, target)
