"""The training loop: deterministic, cancellable, resumable from a per-epoch checkpoint."""

from __future__ import annotations

import contextlib
import io
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from training.ml.data import batch_inputs, mask_target
from training.ml.losses import auto_pos_weight, bce_dice
from training.ml.metrics import evaluate
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
    seed: int = 0
    pos_weight: float | None = None  # None: negatives per positive pixel, capped
    max_steps_per_epoch: int | None = None
    val_fraction: float = 0.2
    threshold: float = 0.5
    min_area: int = 16
    threads: int = 1
    weights_file: str | None = None


@dataclass
class TrainResult:
    model: torch.nn.Module
    history: list[dict]
    metrics: dict
    pos_weight: float
    pretrained: str
    train_indices: list[int] = field(default_factory=list)
    val_indices: list[int] = field(default_factory=list)


class Cancelled(Exception):
    pass


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_val = int(round(n * val_fraction)) if n >= 5 else 0
    return sorted(order[n_val:]), sorted(order[:n_val])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _augment(x: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    if rng.random() < 0.5:
        x, y = x[:, :, ::-1], y[:, :, ::-1]
    if rng.random() < 0.5:
        x, y = x[:, ::-1, :], y[:, ::-1, :]
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def predict_probs(model: torch.nn.Module, images: list[np.ndarray], size, batch_size=4):
    """Probability maps at model input size, one per image."""
    model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            x = torch.from_numpy(batch_inputs(images[i : i + batch_size], size))
            out.extend(torch.sigmoid(model(x))[:, 0].numpy())
    return out


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
    size = tuple(config.input_size)
    train_idx, val_idx = split_indices(len(samples), config.val_fraction, config.seed)
    inputs = [samples[i] for i in train_idx]
    x_all = batch_inputs([s.image for s in inputs], size)
    y_all = np.stack([mask_target(s.mask, size) for s in inputs])
    pos_fraction = float((y_all >= 0.5).mean())
    pos_weight = config.pos_weight or auto_pos_weight(pos_fraction)

    model, pretrained = create_model(model_config, config.weights_file)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(1, config.epochs))
    history: list[dict] = []
    start_epoch = 0
    if resume:
        state = torch.load(io.BytesIO(resume), map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        history = state["history"]
        start_epoch = state["epoch"] + 1

    rng = np.random.default_rng(config.seed)
    n = len(inputs)
    steps = -(-n // config.batch_size)
    if config.max_steps_per_epoch:
        steps = min(steps, config.max_steps_per_epoch)
    for epoch in range(start_epoch, config.epochs):
        model.train()
        rng = np.random.default_rng([config.seed, epoch])
        order = rng.permutation(n)
        started, losses = time.perf_counter(), []
        for step in range(steps):
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            pairs = [_augment(x_all[i], y_all[i], rng) for i in idx]
            x = torch.from_numpy(np.stack([p[0] for p in pairs]))
            y = torch.from_numpy(np.stack([p[1] for p in pairs]))
            loss = bce_dice(model(x), y, pos_weight)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
            if on_step:
                on_step(epoch, step, steps, losses[-1])
        scheduler.step()
        record = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)),
            "seconds": round(time.perf_counter() - started, 3),
        }
        history.append(record)
        if on_epoch:
            buf = io.BytesIO()
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "history": history,
                    "epoch": epoch,
                },
                buf,
            )
            on_epoch(epoch, record, buf.getvalue())

    metrics = {}
    for split, idx in (("train", train_idx), ("validation", val_idx)):
        chosen = [samples[i] for i in idx]
        if chosen:
            probs = predict_probs(model, [s.image for s in chosen], size)
            targets = [mask_target(s.mask, size)[0] for s in chosen]
            metrics[split] = evaluate(probs, targets, config.threshold, config.min_area)
    return TrainResult(
        model.eval(), history, metrics, pos_weight, pretrained.detail, train_idx, val_idx
    )


def lower_priority() -> None:
    """Let a live station on the same machine keep its rate while a job trains."""
    with contextlib.suppress(OSError):
        os.nice(10)
