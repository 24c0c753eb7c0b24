"""The fused option: one U-Net for several defect types, output channel k = defect type k.

Labeling stays one defect type at a time, so each image is labelled for one type only: its
channel learns from it, the other channels do not (partial labels). A defect-free image
("no defect" in its project) is taken as an OK part, free of every type, and supervises every
channel. Inference then costs one network instead of one per type.

The loss is the per-channel loss of the single-type models (class-weighted BCE + Dice), summed
over the channels each image supervises and averaged over images:

    L = sum_b sum_k s_bk * (BCE_pw(x_bk, y_bk) + Dice(x_bk, y_bk)) / sum_b sum_k s_bk

with s_bk = 1 when image b supervises channel k, else 0. Each channel then gets its own pixel
threshold and image decision rule, chosen on the validation images that supervise it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from training.ml import metrics
from training.ml.augment import training_transform
from training.ml.averaging import WeightAverage
from training.ml.data import batch_inputs, unfit
from training.ml.device import autocast, pick_device, pick_precision
from training.ml.losses import auto_pos_weight
from training.ml.model import ModelConfig, create_model
from training.ml.train import (
    Sample,
    TrainConfig,
    seed_everything,
    set_learning_rate,
    training_pair,
)


@dataclass
class FusedSample:
    image: np.ndarray  # HxWx3 uint8 RGB
    mask: np.ndarray  # HxW uint8 mask of `channel`'s defect type; zeros for a negative
    channel: int | None  # the defect type it is labelled for; None: free of every type


@dataclass
class ChannelResult:
    pixel_threshold: float
    rule: metrics.DecisionRule
    metrics: dict


@dataclass
class FusedResult:
    model: torch.nn.Module
    channels: list[ChannelResult]
    history: list[dict]
    train_indices: list[int]
    val_indices: list[int]


def supervision(sample: FusedSample, channels: int) -> np.ndarray:
    """Which channels the sample teaches: its own, or all of them when it is defect-free."""
    if sample.channel is None:
        return np.ones(channels, np.float32)
    out = np.zeros(channels, np.float32)
    out[sample.channel] = 1.0
    return out


def partial_label_loss(
    logits: torch.Tensor, target: torch.Tensor, supervised: torch.Tensor, pos_weight: float
) -> torch.Tensor:
    """The module docstring's L. logits, target: BxKxHxW; supervised: BxK (0 or 1)."""
    weight = torch.tensor(pos_weight, device=logits.device, dtype=logits.dtype)
    bce = F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight, reduction="none")
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum((2, 3))
    total = prob.sum((2, 3)) + target.sum((2, 3))
    dice = 1 - (2 * inter + 1.0) / (total + 1.0)
    per_channel = bce.mean((2, 3)) + dice  # BxK
    count = supervised.sum()
    if count <= 0:
        return logits.sum() * 0.0
    return (per_channel * supervised).sum() / count


def _pair(sample: FusedSample, channels: int, config: TrainConfig, transform, rng):
    x, y = training_pair(Sample(sample.image, sample.mask), config, transform, rng)
    target = np.zeros((channels, *y.shape[-2:]), np.float32)
    if sample.channel is not None:
        target[sample.channel] = y[0]
    return x, target, supervision(sample, channels)


def split(samples: list[FusedSample], val_fraction: float, seed: int):
    """Validation images drawn per channel and per defect-free group, so every channel keeps
    defective and clean images to choose its rule on."""
    rng = np.random.default_rng(seed)
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(samples):
        groups.setdefault((s.channel, bool((s.mask >= 128).any())), []).append(i)
    train, val = [], []
    for _, members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        members = list(rng.permutation(members))
        n_val = min(len(members) - 1, int(round(len(members) * val_fraction)))
        val += [int(i) for i in members[: max(0, n_val)]]
        train += [int(i) for i in members[max(0, n_val) :]]
    return sorted(train), sorted(val)


def predict_channels(model, images, size, policy, batch_size=4, precision="fp32"):
    """KxHxW probability maps at each image's own size."""
    device = next(model.parameters()).device
    model.eval()
    out = []
    with torch.inference_mode(), autocast(device, precision):
        for i in range(0, len(images), batch_size):
            x, placements = batch_inputs(images[i : i + batch_size], size, policy)
            probs = torch.sigmoid(model(torch.from_numpy(x).to(device)).float()).cpu().numpy()
            for p, pl in zip(probs, placements, strict=True):
                out.append(np.stack([unfit(c, pl) for c in p]))
    return out


def train_fused(
    samples: list[FusedSample],
    channels: int,
    model_config: ModelConfig,
    config: TrainConfig,
    on_step: Callable[[int, int, int, float], None] | None = None,
) -> FusedResult:
    if not samples:
        raise ValueError("no training samples")
    torch.set_num_threads(max(1, config.threads))
    seed_everything(config.seed)
    device = pick_device(config.device)
    precision = pick_precision(device, config.precision)
    if config.validation is not None:
        val_idx = sorted(config.validation)
        train_idx = [i for i in range(len(samples)) if i not in set(val_idx)]
    else:
        train_idx, val_idx = split(samples, config.val_fraction, config.seed)
    train_set = [samples[i] for i in train_idx]
    labelled = [s for s in train_set if s.channel is not None]
    positive = np.mean([float((s.mask >= 128).mean()) for s in labelled]) if labelled else 0.0
    pos_weight = config.pos_weight or auto_pos_weight(float(positive))
    model_config = ModelConfig(**{**model_config.__dict__, "classes": channels})
    model, _ = create_model(model_config, config.weights_file, config.hf_cache)
    model = model.to(device=device, memory_format=torch.channels_last)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    # The fused trainer keeps no best epoch: with an average, the average is what ships.
    average = WeightAverage(model, config.ema_decay) if config.ema_decay else None
    steps = -(-len(train_set) // config.batch_size)
    if config.max_steps_per_epoch:
        steps = min(steps, config.max_steps_per_epoch)
    history, spent = [], 0.0
    for epoch in range(config.epochs):
        if config.max_seconds is not None and spent >= config.max_seconds:
            break
        model.train()
        rng = np.random.default_rng([config.seed, epoch])
        transform = training_transform(config.seed * 1000 + epoch, config.augment)
        order = rng.permutation(len(train_set))
        started, losses = time.perf_counter(), []
        for step in range(steps):
            set_learning_rate(
                optimiser, config, epoch, step, steps, spent + time.perf_counter() - started
            )
            batch = [
                _pair(train_set[i], channels, config, transform, rng)
                for i in order[step * config.batch_size : (step + 1) * config.batch_size]
            ]
            x = torch.from_numpy(np.stack([b[0] for b in batch])).to(device)
            y = torch.from_numpy(np.stack([b[1] for b in batch])).to(device)
            s = torch.from_numpy(np.stack([b[2] for b in batch])).to(device)
            with autocast(device, precision):
                logits = model(x.contiguous(memory_format=torch.channels_last))
            loss = partial_label_loss(logits.float(), y, s, pos_weight)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            if average is not None:
                average.update(model)
            losses.append(float(loss.detach()))
            if on_step:
                on_step(epoch, step, steps, losses[-1])
        seconds = time.perf_counter() - started
        spent += seconds
        history.append(
            {"epoch": epoch, "train_loss": float(np.mean(losses)), "seconds": round(seconds, 3)}
        )
    shipped = average.model if average is not None else model
    model = shipped.to("cpu", memory_format=torch.contiguous_format).eval()
    results = choose_per_channel(model, samples, channels, train_idx, val_idx, config)
    return FusedResult(model, results, history, train_idx, val_idx)


def choose_per_channel(model, samples, channels, train_idx, val_idx, config):
    """Each channel's thresholds, chosen on the validation images that supervise it, and its
    metrics on both splits (the same rules as a single-type model's)."""
    size = tuple(config.input_size)
    probs = {
        split_name: predict_channels(
            model, [samples[i].image for i in idx], size, config.resize_policy
        )
        for split_name, idx in (("train", train_idx), ("validation", val_idx))
    }
    out = []
    for k in range(channels):
        per_split = {}
        for split_name, idx in (("train", train_idx), ("validation", val_idx)):
            keep = [j for j, i in enumerate(idx) if samples[i].channel in (k, None)]
            per_split[split_name] = (
                [probs[split_name][j][k] for j in keep],
                [samples[idx[j]].mask.astype(np.float32) / 255.0 for j in keep],
            )
        basis = "validation" if per_split["validation"][0] else "train"
        chosen_probs, chosen_targets = per_split[basis]
        pixel_threshold = metrics.choose_pixel_threshold(chosen_probs, chosen_targets)
        actual = [bool((t >= 0.5).any()) for t in chosen_targets]
        rule = metrics.choose_decision_rule(chosen_probs, actual, config.cost_ratio)
        found = {
            name: metrics.evaluate(p, t, pixel_threshold, rule)
            for name, (p, t) in per_split.items()
            if p
        }
        out.append(ChannelResult(pixel_threshold, rule, found | {"chosen_on": basis}))
    return out
