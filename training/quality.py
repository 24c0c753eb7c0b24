"""The training quality check: the default recipe against a plain reference and against the
soft-label loss on consensus labels, on a held-out split of real data, over several seeds."""

from __future__ import annotations

import random
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction

from annotation.imaging import encode_png, to_rgb_array
from annotation.importing import import_folder
from annotation.models import Image, LabelVersion
from annotation.services import add_image, save_label
from defect_platform.core.models import Project
from defect_platform.core.storage import read_bytes
from training import registry, services
from training.ml import runtime
from training.ml.metrics import detection_scores, image_scores

RECIPES = {
    # The platform's defaults: the input size the project's images suggest (it sets none), a
    # project's resize policy (stretch), full augmentations, bf16 on CPUs with AMX, a learning
    # rate that settles by the end of the time budget, and a pixel threshold and image rule
    # chosen on validation.
    "default": {"loss": "bce+dice", "augment": "full", "resize_policy": "resize"},
    # What a plain training script does: a square input, stretch, flips, fp32, a cosine over
    # its epoch count (stopped by the clock long before the end), threshold 0.5 for masks and
    # verdicts.
    "plain": {
        "loss": "bce+dice",
        "augment": "flips",
        "resize_policy": "resize",
        "input_size": [256, 256],
        "precision": "fp32",
        "schedule": "epochs",
        "fixed_threshold": 0.5,
        "min_area": 1,
    },
    # The default recipe with the soft-label loss on consensus labels of three annotators.
    "soft": {
        "loss": "soft+dice",
        "augment": "full",
        "resize_policy": "resize",
        "consensus": True,
    },
    # A candidate: the default recipe validating and shipping an average of its weights.
    "average": {
        "loss": "bce+dice",
        "augment": "full",
        "resize_policy": "resize",
        "ema_decay": 0.99,
    },
}
PROTOCOL = ["default", "plain", "soft"]  # the recipes the quality goal compares


@dataclass
class RunResult:
    recipe: str
    seed: int
    f1: float
    iou: float
    epochs: int
    minutes: float


def simulated_consensus(mask: np.ndarray, rng: np.random.Generator, annotators: int = 3):
    """Mean of `annotators` copies of a binary mask, each eroded or dilated by 1-3 pixels:
    a soft label whose borders carry the disagreement."""
    binary = (mask >= 128).astype(np.uint8)
    copies = []
    for _ in range(annotators):
        radius = int(rng.integers(1, 4))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        op = cv2.dilate if rng.random() < 0.5 else cv2.erode
        copies.append(op(binary, kernel).astype(np.float32))
    return np.clip(np.mean(copies, axis=0) * 255 + 0.5, 0, 255).astype(np.uint8)


def _project(user, name: str) -> Project:
    # No input size: a job takes what the images suggest, as in a project made on the site.
    return Project.objects.create(
        name=name, slug=f"quality-{uuid.uuid4().hex[:10]}", created_by=user
    )


def _split(images: list[Image], labels: dict, held_out: float, seed: int):
    """Stratified by image-level label: the held-out share of positives and of negatives."""
    rng = random.Random(seed)
    train, test = [], []
    for positive in (True, False):
        group = [i for i in images if (labels[i.pk].kind == "mask") == positive]
        rng.shuffle(group)
        cut = int(round(len(group) * held_out))
        test += group[:cut]
        train += group[cut:]
    return train, test


def evaluate_held_out(version, images: list[Image], labels: dict) -> tuple[float, float]:
    """Image-level F1 with the version's rule, and IoU of defect pixels pooled over images."""
    loaded = registry.load(version, runtime.ORT_FP32)  # the model, not a runtime's rounding
    predicted, actual, tp_fp_fn = [], [], np.zeros(3)
    for image in images:
        prob = loaded.predict([to_rgb_array(read_bytes(image.file.name))])[0]
        label = labels[image.pk]
        truth = np.zeros(prob.shape, np.float32)
        if label.kind == "mask":
            truth = np.asarray(cv2.imread(label.mask.path, cv2.IMREAD_GRAYSCALE)) / 255.0
        predicted.append(image_scores(prob, [loaded.min_area])[0] >= loaded.threshold)
        actual.append(bool((truth >= 0.5).any()))
        pred_mask, true_mask = prob >= loaded.pixel_threshold, truth >= 0.5
        tp_fp_fn += [
            np.count_nonzero(pred_mask & true_mask),
            np.count_nonzero(pred_mask & ~true_mask),
            np.count_nonzero(~pred_mask & true_mask),
        ]
    tp, fp, fn = tp_fp_fn
    iou = tp / (tp + fp + fn) if tp + fp + fn else 1.0
    return detection_scores(predicted, actual)["f1"], float(iou)


def run(
    data_root: Path,
    positives: str,
    negatives: str,
    n_negatives: int | None,
    minutes: float,
    seeds: list[int],
    recipes: list[str],
    size: tuple[int, int] | None = None,
    held_out=0.3,
    epochs=1000,
    log=print,
) -> list[RunResult]:
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username="quality-check")
    results = []
    base = _project(user, "quality base")
    import_folder(base, user, data_root / positives)
    free = sorted((data_root / negatives / "Imgs").glob("*.jpg"))
    wanted = n_negatives if n_negatives is not None else base.images.count()
    with transaction.atomic():
        for path in random.Random(0).sample(free, min(wanted, len(free))):
            image, _ = add_image(base, path.read_bytes(), path.name, user)
            save_label(image, user, "negative", None, False, None)
    images = list(base.images.all())
    labels = {
        i.pk: v
        for i in images
        for v in [
            LabelVersion.objects.filter(label__image=i, label__annotator=user).latest("number")
        ]
    }
    automatic = services.input_size_for(base)
    for seed in seeds:
        train_images, test_images = _split(images, labels, held_out, seed)
        for recipe in recipes:
            params = dict(RECIPES[recipe])
            consensus = params.pop("consensus", False)
            # The base project's size for the consensus copy too: the same job, other labels.
            params.setdefault("input_size", automatic)
            if size:
                params["input_size"] = list(size)
            project, ids = base, [i.pk for i in train_images]
            if consensus:
                project, ids = _consensus_copy(base, user, train_images, labels, seed)
            job_params = {
                "epochs": epochs,
                "batch_size": 8,
                "lr": 1e-3,
                "seed": seed,
                "max_minutes": minutes,
                **params,
            }
            job = services.create_job(project, user, job_params, image_ids=ids, queue=False)
            started = time.monotonic()
            services.run_job(job.pk)
            job.refresh_from_db()
            if job.status != "succeeded":
                raise RuntimeError(f"{recipe} seed {seed} failed: {job.error}")
            f1, iou = evaluate_held_out(job.model_version, test_images, labels)
            result = RunResult(
                recipe, seed, f1, iou, len(job.history), (time.monotonic() - started) / 60
            )
            log(
                f"{recipe:8s} seed {seed}: F1 {f1:.3f}  IoU {iou:.3f}  "
                f"({result.epochs} epochs, {result.minutes:.1f} min)"
            )
            results.append(result)
    return results


def _consensus_copy(base, user, images, labels, seed):
    """The training images again, in a project of their own, labelled with soft consensus."""
    project = _project(user, f"quality consensus {seed}")
    rng = np.random.default_rng(seed)
    ids = []
    for image in images:
        copy, _ = add_image(project, read_bytes(image.file.name), image.source_name, user)
        label = labels[image.pk]
        if label.kind == "mask":
            mask = cv2.imread(label.mask.path, cv2.IMREAD_GRAYSCALE)
            save_label(copy, user, "mask", encode_png(simulated_consensus(mask, rng)), True, None)
        else:
            save_label(copy, user, "negative", None, False, None)
        ids.append(copy.pk)
    return project, ids


def combine(reports: list[dict]) -> tuple[list[RunResult], dict]:
    """The runs of several reports as one, for runs made side by side in separate processes.
    Reports from different machines, or holding one recipe and seed twice, are refused: their
    epochs in a time budget, and so their figures, are not comparable."""
    machine = reports[0]["machine"]
    results, seen = [], set()
    for report in reports:
        if _hardware(report["machine"]) != _hardware(machine):
            raise ValueError(
                f"runs from different machines: {_hardware(machine)} and "
                f"{_hardware(report['machine'])}"
            )
        for run in report["runs"]:
            result = RunResult(**run)
            if (result.recipe, result.seed) in seen:
                raise ValueError(f"{result.recipe} seed {result.seed} is in two reports")
            seen.add((result.recipe, result.seed))
            results.append(result)
    return results, machine


def _hardware(machine: dict) -> dict:
    # The fields a machine has, not the ones timed at start-up (bf16_trains_faster can flip
    # between two processes on one machine when the timings are close).
    keys = ("cpu", "cores", "avx512", "avx512_vnni", "avx512_bf16", "amx", "gpu")
    return {key: machine.get(key) for key in keys}


def summary(results: list[RunResult]) -> list[dict]:
    rows = []
    for recipe in dict.fromkeys(r.recipe for r in results):
        mine = [r for r in results if r.recipe == recipe]
        f1s, ious = [r.f1 for r in mine], [r.iou for r in mine]
        rows.append(
            {
                "recipe": recipe,
                "runs": len(mine),
                "f1_mean": statistics.mean(f1s),
                "f1_sd": statistics.pstdev(f1s),
                "iou_mean": statistics.mean(ious),
                "iou_sd": statistics.pstdev(ious),
                "minutes_mean": statistics.mean(r.minutes for r in mine),
            }
        )
    return rows


def against_plain(rows: list[dict]) -> list[dict]:
    """Each recipe's gain over the plain reference in F1 and IoU, beside the spread it must
    exceed: the larger of the two recipes' standard deviations over seeds. A recipe "beats"
    plain when both gains exceed their spreads."""
    plain = next((r for r in rows if r["recipe"] == "plain"), None)
    if plain is None:
        return []
    out = []
    for row in rows:
        if row is plain:
            continue
        gains = {}
        for metric in ("f1", "iou"):
            gain = row[f"{metric}_mean"] - plain[f"{metric}_mean"]
            spread = max(row[f"{metric}_sd"], plain[f"{metric}_sd"])
            gains[metric] = (gain, spread)
        out.append(
            {
                "recipe": row["recipe"],
                "f1_gain": gains["f1"][0],
                "f1_spread": gains["f1"][1],
                "iou_gain": gains["iou"][0],
                "iou_spread": gains["iou"][1],
                "beats_plain": all(gain > spread for gain, spread in gains.values()),
            }
        )
    return out
