"""The training loop: deterministic, cancellable, resumable from a per-epoch checkpoint,
with early stopping and thresholds chosen on the validation split afterwards."""

from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from training.ml import metrics
from training.ml.augment import training_transform
from training.ml.averaging import WeightAverage
from training.ml.data import (
    batch_inputs,
    defect_biased_crop,
    fit,
    is_large,
    mask_target,
    normalise,
    unfit,
)
from training.ml.device import autocast, pick_device, pick_precision
from training.ml.losses import auto_pos_weight, make_loss
from training.ml.model import ModelConfig, create_model


@dataclass
class Sample:
    image: np.ndarray  # HxWx3 uint8 RGB
    mask: np.ndarray  # HxW uint8, value/255 = probability of defect


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 4
    lr: float = 1e-3
    weight_decay: float = 1e-4
    input_size: tuple[int, int] = (256, 256)
    resize_policy: str = "resize"
    loss: str = "bce+dice"
    seed: int = 0
    pos_weight: float | None = None  # None: negatives per positive pixel, capped
    max_steps_per_epoch: int | None = None
    val_fraction: float = 0.2
    validation: list[int] | None = None  # a frozen split: these sample indices validate
    patience: int | None = None  # epochs without validation improvement before stopping
    augment: str = "full"  # "full", "flips" or "none"
    max_seconds: float | None = None  # stop after the epoch that passes this training time
    schedule: str = "budget"  # see learning_rate_factor
    ema_decay: float | None = None  # validate and ship an average of the weights (averaging.py)
    cost_ratio: float | None = None  # a missed defect costs this many false rejects
    min_area: int | None = None  # fixes the rule's min area instead of choosing it
    fixed_threshold: float | None = None  # no choosing: masks and images at this threshold
    threads: int = 1
    device: str = "auto"
    precision: str = "auto"
    weights_file: str | None = None
    hf_cache: bool = True  # also look for smp's ImageNet weights in the Hugging Face cache


@dataclass
class TrainResult:
    model: torch.nn.Module
    history: list[dict]
    metrics: dict
    pos_weight: float
    pretrained: str
    pixel_threshold: float
    rule: metrics.DecisionRule
    device: str
    precision: str
    train_indices: list[int] = field(default_factory=list)
    val_indices: list[int] = field(default_factory=list)


class Cancelled(Exception):
    pass


class CheckpointUnreadable(ValueError):
    """A resume checkpoint that is truncated, corrupt or not one of ours."""


def load_checkpoint(data: bytes, device) -> dict:
    # weights_only: a checkpoint is data, never code to run (torch.load's pickle would).
    try:
        state = torch.load(io.BytesIO(data), map_location=device, weights_only=True)
        missing = {"model", "optimiser", "history", "best", "epoch"} - set(state)
    except Exception as exc:  # torch raises many kinds: pickle, zip, runtime errors
        kind = exc.__class__.__name__
        raise CheckpointUnreadable(f"the checkpoint is unreadable ({kind})") from exc
    if missing:
        raise CheckpointUnreadable(f"the checkpoint lacks {', '.join(sorted(missing))}")
    return state


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_val = int(round(n * val_fraction)) if n >= 5 else 0
    return sorted(order[n_val:]), sorted(order[:n_val])


def stratified_split(
    positive: list[bool], val_fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Train and validation indices holding the same share of defective images: a plain
    random split of 20 positives can leave validation with one or none, and then neither the
    decision rule nor the comparison of two models means anything. Each group keeps at least
    one image for training."""
    rng = random.Random(seed)
    train, val = [], []
    if len(positive) < 5:
        return list(range(len(positive))), []
    for flag in (True, False):
        group = [i for i, p in enumerate(positive) if p == flag]
        rng.shuffle(group)
        n_val = min(len(group) - 1, int(round(len(group) * val_fraction))) if group else 0
        val += group[:n_val]
        train += group[n_val:]
    return sorted(train), sorted(val)


def learning_rate_factor(
    schedule: str,
    epoch: int,
    step: int,
    steps: int,
    epochs: int,
    spent_s: float,
    max_s: float | None,
) -> float:
    """The share of the base learning rate for this step: a cosine from 1 to MIN_LR_SHARE.

    "budget" runs the cosine over the epochs or the time limit, whichever ends first. A
    job with a time limit does not know how many epochs fit, and a cosine over `epochs` alone
    (1000 epochs, stopped after 20 by the clock) never lowers the rate: the model ends on a
    high-rate step instead of settling. The time share makes the schedule depend on the
    machine's speed, as the number of epochs already does under a time limit.
    "epochs" is the plain per-epoch cosine over `epochs` (torch's CosineAnnealingLR)."""
    if schedule == "epochs":
        progress = epoch / max(1, epochs)
    else:
        progress = (epoch * steps + step) / max(1, epochs * steps)
        if max_s:
            progress = max(progress, spent_s / max_s)
    progress = min(1.0, progress)
    return MIN_LR_SHARE + (1 - MIN_LR_SHARE) * 0.5 * (1 + math.cos(math.pi * progress))


MIN_LR_SHARE = 0.01


def set_learning_rate(optimiser, config: TrainConfig, epoch, step, steps, spent_s) -> None:
    factor = learning_rate_factor(
        config.schedule, epoch, step, steps, config.epochs, spent_s, config.max_seconds
    )
    for group in optimiser.param_groups:
        group["lr"] = config.lr * factor


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def training_pair(sample: Sample, config: TrainConfig, transform, rng):
    """One augmented (normalised 3xHxW input, 1xHxW target) at the input size."""
    size = tuple(config.input_size)
    image, mask = sample.image, sample.mask
    if is_large(image.shape[:2], size):
        image, mask = defect_biased_crop(image, mask, size, rng)
    else:
        image, _ = fit(image, size, config.resize_policy)
        mask, _ = fit(mask, size, config.resize_policy, is_mask=True)
    if transform is not None:
        out = transform(image=image, mask=mask)
        image, mask = out["image"], out["mask"]
    return normalise(image), mask_target(mask)


def predict_probs(
    model: torch.nn.Module,
    images: list[np.ndarray],
    size,
    policy="resize",
    batch_size=4,
    device=None,
    precision="fp32",
) -> list[np.ndarray]:
    """Probability maps at each image's own size."""
    device = device or next(model.parameters()).device
    model.eval()
    out = []
    with torch.inference_mode(), autocast(device, precision):
        for i in range(0, len(images), batch_size):
            x, placements = batch_inputs(images[i : i + batch_size], size, policy)
            logits = model(torch.from_numpy(x).to(device))
            probs = torch.sigmoid(logits.float())[:, 0].cpu().numpy()
            out.extend(unfit(p, pl) for p, pl in zip(probs, placements, strict=True))
    return out


def _validation_pass(model, samples, config, loss_fn, device, precision) -> dict:
    """Loss and quick quality figures on the validation split after an epoch, for the live
    curves: pixel IoU of defect pixels at p >= 0.5, and image F1 with "any pixel >= 0.5" as
    the verdict. The final figures use the thresholds chosen after training instead."""
    if not samples:
        return {"val_loss": None, "val_iou": None, "val_f1": None}
    size = tuple(config.input_size)
    model.eval()
    losses, tp, fp, fn = [], 0, 0, 0
    hits = {"tp": 0, "fp": 0, "fn": 0}  # images
    with torch.inference_mode(), autocast(device, precision):
        for s in samples:
            x, _ = fit(s.image, size, config.resize_policy)
            y, _ = fit(s.mask, size, config.resize_policy, is_mask=True)
            target = torch.from_numpy(mask_target(y))[None].to(device)
            logits = model(torch.from_numpy(normalise(x))[None].to(device)).float()
            losses.append(float(loss_fn(logits, target)))
            predicted, truth = logits >= 0, target >= 0.5  # sigmoid(z) >= 0.5 iff z >= 0
            tp += int((predicted & truth).sum())
            fp += int((predicted & ~truth).sum())
            fn += int((~predicted & truth).sum())
            said, was = bool(predicted.any()), bool(truth.any())
            if said or was:
                hits["tp" if said and was else "fp" if said else "fn"] += 1
    iou = tp / (tp + fp + fn) if tp + fp + fn else 1.0
    f1_den = 2 * hits["tp"] + hits["fp"] + hits["fn"]
    f1 = 2 * hits["tp"] / f1_den if f1_den else 1.0
    return {"val_loss": float(np.mean(losses)), "val_iou": round(iou, 5), "val_f1": round(f1, 5)}


def train(
    samples: list[Sample],
    model_config: ModelConfig,
    config: TrainConfig,
    on_step: Callable[[int, int, int, float], None] | None = None,
    on_epoch: Callable[[int, dict, bytes], None] | None = None,
    resume: bytes | None = None,
) -> TrainResult:
    """Train on `samples`; `on_step(epoch, step, steps, loss)` may raise Cancelled.

    `on_epoch(epoch, record, checkpoint)` receives a checkpoint to store; passing it back as
    `resume` continues after that epoch with the same optimiser state.
    """
    if not samples:
        raise ValueError("no training samples")
    torch.set_num_threads(max(1, config.threads))
    seed_everything(config.seed)
    device = pick_device(config.device)
    precision = pick_precision(device, config.precision)
    if config.validation is not None:
        held = set(config.validation)
        train_idx = [i for i in range(len(samples)) if i not in held]
        val_idx = sorted(held)
    else:
        train_idx, val_idx = split_indices(len(samples), config.val_fraction, config.seed)
    train_set = [samples[i] for i in train_idx]
    val_set = [samples[i] for i in val_idx]
    positive = sum(float((s.mask >= 128).mean()) for s in train_set) / len(train_set)
    pos_weight = config.pos_weight or auto_pos_weight(positive)
    loss_fn = make_loss(config.loss, pos_weight)

    model, pretrained = create_model(model_config, config.weights_file, config.hf_cache)
    model = model.to(device=device, memory_format=torch.channels_last)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    scaler = torch.amp.GradScaler(enabled=precision == "fp16")
    average = WeightAverage(model, config.ema_decay) if config.ema_decay else None
    judged = average.model if average else model  # the weights that validate and ship
    history: list[dict] = []
    best = {"loss": float("inf"), "epoch": -1, "state": None}
    start_epoch = 0
    if resume is not None:
        state = load_checkpoint(resume, device)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        history, best, start_epoch = state["history"], state["best"], state["epoch"] + 1
        if average is not None and state.get("average"):
            average.load_state_dict(state["average"])

    n = len(train_set)
    steps = -(-n // config.batch_size)
    if config.max_steps_per_epoch:
        steps = min(steps, config.max_steps_per_epoch)
    spent = sum(h["seconds"] for h in history)
    for epoch in range(start_epoch, config.epochs):
        if config.patience is not None and epoch - best["epoch"] > config.patience:
            break
        if config.max_seconds is not None and spent >= config.max_seconds:
            break
        model.train()
        rng = np.random.default_rng([config.seed, epoch])
        transform = training_transform(config.seed * 1000 + epoch, config.augment)
        order = rng.permutation(n)
        started, losses = time.perf_counter(), []
        for step in range(steps):
            set_learning_rate(
                optimiser, config, epoch, step, steps, spent + time.perf_counter() - started
            )
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            pairs = [training_pair(train_set[i], config, transform, rng) for i in idx]
            x = torch.from_numpy(np.stack([p[0] for p in pairs])).to(device)
            x = x.contiguous(memory_format=torch.channels_last)
            y = torch.from_numpy(np.stack([p[1] for p in pairs])).to(device)
            with autocast(device, precision):
                logits = model(x)
            loss = loss_fn(logits.float(), y)
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            if average is not None:
                average.update(model)
            losses.append(float(loss.detach()))
            if on_step:
                on_step(epoch, step, steps, losses[-1])
        trained = time.perf_counter()
        validation = _validation_pass(judged, val_set, config, loss_fn, device, precision)
        ended = time.perf_counter()
        record = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)),
            **validation,
            "seconds": round(ended - started, 3),
            # What the time budget spends on validating rather than learning.
            "validation_seconds": round(ended - trained, 3),
        }
        history.append(record)
        spent += record["seconds"]
        watched = record["val_loss"] if record["val_loss"] is not None else record["train_loss"]
        if watched < best["loss"]:
            best = {
                "loss": watched,
                "epoch": epoch,
                "state": copy.deepcopy({k: v.cpu() for k, v in judged.state_dict().items()}),
            }
        if on_epoch:
            buf = io.BytesIO()
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "average": average.state_dict() if average else None,
                    "history": history,
                    "best": best,
                    "epoch": epoch,
                },
                buf,
            )
            on_epoch(epoch, record, buf.getvalue())

    if best["state"] is not None:
        model.load_state_dict(best["state"])
    model = model.to("cpu", memory_format=torch.contiguous_format).eval()
    pixel_threshold, rule, results = choose_and_evaluate(model, samples, train_idx, val_idx, config)
    return TrainResult(
        model,
        history,
        results,
        pos_weight,
        pretrained.detail,
        pixel_threshold,
        rule,
        str(device),
        precision,
        train_idx,
        val_idx,
    )


def choose_and_evaluate(model, samples, train_idx, val_idx, config):
    """Pick the pixel threshold and the image rule on validation (training data if there is
    no validation split), then measure both splits with them."""
    size = tuple(config.input_size)
    probs, targets = {}, {}
    for split, idx in (("train", train_idx), ("validation", val_idx)):
        chosen = [samples[i] for i in idx]
        probs[split] = predict_probs(model, [s.image for s in chosen], size, config.resize_policy)
        targets[split] = [s.mask.astype(np.float32) / 255.0 for s in chosen]
    basis = "validation" if val_idx else "train"
    if config.fixed_threshold is not None:
        pixel_threshold = config.fixed_threshold
        rule = metrics.DecisionRule(config.fixed_threshold, config.min_area or 1, "fixed", 0.0)
    else:
        pixel_threshold = metrics.choose_pixel_threshold(probs[basis], targets[basis])
        actual = [bool((t >= 0.5).any()) for t in targets[basis]]
        areas = [config.min_area] if config.min_area else None
        rule = metrics.choose_decision_rule(probs[basis], actual, config.cost_ratio, areas=areas)
    results = {
        split: metrics.evaluate(probs[split], targets[split], pixel_threshold, rule)
        for split in probs
        if probs[split]
    }
    results["chosen_on"] = basis
    return pixel_threshold, rule, results


TRAINING_NICENESS = 10


def lower_priority() -> None:
    """Let a live station on the same machine keep its rate while a job trains.

    Idempotent: a worker process runs many jobs, and each call adding 10 would leave it at the
    lowest priority there is after two."""
    with contextlib.suppress(OSError):
        os.nice(max(0, TRAINING_NICENESS - os.nice(0)))
