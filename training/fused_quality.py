"""The fused option against the ensemble on real data: one U-Net per defect type against one
fused U-Net for all of them, trained on the same images with the same total training time and
judged on the same held-out images. No Django: `manage.py fused_quality` runs it.

Each type's defective images are split 70/30; the defect-free images are split 70/30 too and
their training part dealt out to the types in turn, so every image teaches exactly as in the
platform: a single-type model sees its type's defects and its share of clean images, the fused
model sees all of them (a clean image supervises every channel). Held out per type: its
defective images and all held-out clean images.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from training.ml import metrics
from training.ml.fused import FusedSample, predict_channels, train_fused
from training.ml.model import ModelConfig
from training.ml.train import Sample, TrainConfig, predict_probs, train

FREE = "MT_Free"


def read_folder(folder: Path, limit: int | None = None) -> list[Sample]:
    samples = []
    for path in sorted((folder / "Imgs").glob("*.jpg"))[:limit]:
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        mask = cv2.imread(str(path.with_suffix(".png")), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            mask = np.zeros(image.shape[:2], np.uint8)
        samples.append(Sample(image, np.where(mask >= 128, 255, 0).astype(np.uint8)))
    return samples


@dataclass
class Split:
    train: dict[int, list[Sample]]  # per type: its defects and its share of clean images
    held: dict[int, list[Sample]]  # per type: its held-out defects and every held-out clean one


def split(types: list[list[Sample]], free: list[Sample], seed: int, share=0.3) -> Split:
    rng = random.Random(seed)
    free = free[:]
    rng.shuffle(free)
    n_free = int(round(len(free) * share))
    free_held, free_train = free[:n_free], free[n_free:]
    train_part, held = {}, {}
    for k, samples in enumerate(types):
        samples = samples[:]
        rng.shuffle(samples)
        n = int(round(len(samples) * share))
        held[k] = samples[:n] + free_held
        train_part[k] = samples[n:] + free_train[k :: len(types)]
    return Split(train_part, held)


def _figures(probs, samples, pixel_threshold, rule) -> dict:
    targets = [s.mask.astype(np.float32) / 255.0 for s in samples]
    found = metrics.evaluate(probs, targets, pixel_threshold, rule)
    return {"f1": found["image"]["f1"], "iou": found["pixel"]["all"]["iou"]}


def compare(
    root: Path,
    types: list[str],
    minutes: float,
    seed: int,
    threads: int,
    size=(256, 256),
    limit: int | None = None,
) -> dict:
    """Per type: F1 and IoU of its own model and of the fused model's channel (`limit` caps
    the images read per folder, for a quick check)."""
    data = [read_folder(root / name, limit) for name in types]
    parts = split(data, read_folder(root / FREE, limit), seed)
    config = TrainConfig(
        epochs=1000,
        batch_size=8,
        input_size=size,
        seed=seed,
        max_seconds=minutes * 60,
        threads=threads,
        val_fraction=0.2,
    )
    rows = []
    started = time.perf_counter()
    for k, name in enumerate(types):
        own = train(parts.train[k], ModelConfig(), config)
        probs = predict_probs(own.model, [s.image for s in parts.held[k]], size)
        rows.append(
            {
                "type": name,
                "held_out": len(parts.held[k]),
                "ensemble": _figures(probs, parts.held[k], own.pixel_threshold, own.rule)
                | {"epochs": len(own.history)},
            }
        )
    ensemble_minutes = (time.perf_counter() - started) / 60
    fused_samples = [
        FusedSample(s.image, s.mask, k if (s.mask >= 128).any() else None)
        for k in parts.train
        for s in parts.train[k]
    ]
    fused_config = TrainConfig(**{**config.__dict__, "max_seconds": minutes * 60 * len(types)})
    fused = train_fused(fused_samples, len(types), ModelConfig(), fused_config)
    for k, row in enumerate(rows):
        maps = predict_channels(fused.model, [s.image for s in parts.held[k]], size, "resize")
        channel = fused.channels[k]
        row["fused"] = _figures(
            [m[k] for m in maps], parts.held[k], channel.pixel_threshold, channel.rule
        ) | {"epochs": len(fused.history)}
        row["f1_gap_pp"] = 100 * (row["fused"]["f1"] - row["ensemble"]["f1"])
    return {
        "seed": seed,
        "minutes_per_type": minutes,
        "ensemble_minutes": round(ensemble_minutes, 2),
        "types": rows,
        "mean_f1_gap_pp": float(np.mean([r["f1_gap_pp"] for r in rows])),
    }
