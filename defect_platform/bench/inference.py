"""One model: eager torch fp32 against the engine's runtime, for speed at the line's image size
and for accuracy on real data.

Accuracy: a model trained on a share of the real defect images, then every image not used for
training is judged by eager fp32 torch and by the engine's runtime (chosen by the same accuracy
gate a training job runs). A held-out split of a few dozen defects could not resolve half a
point of IoU; several hundred images can.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from defect_platform.bench.timing import median_ms
from training.ml import export, runtime, runtime_gate
from training.ml.data import batch_inputs, fit, normalise
from training.ml.metrics import image_scores
from training.ml.model import ModelConfig
from training.ml.train import Sample, TrainConfig, predict_probs, train

LINE_SIZE = (256, 1248)  # a straw image, as in the research
TINY = ModelConfig(decoder_channels=(32, 16, 8, 8, 8))
# Below this defect IoU on unseen images the accuracy model has not learned the defects.
LEARNED_IOU = 0.05


@dataclass
class Engine:
    """The trained model's weights, exported for the line's image size, on the engine runtime."""

    model: torch.nn.Module
    onnx: bytes
    int8: tuple[bytes, bytes] | None
    runtime: str
    size: tuple[int, int]
    calibration: list[np.ndarray] | None = None  # int8's inputs, at the line's size

    def runner(self, threads: int) -> runtime.Runner:
        return runtime.open_runner(self.runtime, self.onnx, self.int8, threads)


def real_samples(root: Path, positives: str, negatives: str) -> list[Sample]:
    """Images with masks from `<root>/<type>/Imgs/<stem>.jpg` + `<stem>.png`."""
    samples = []
    for folder in (positives, negatives):
        for path in sorted((root / folder / "Imgs").glob("*.jpg")):
            image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            mask = cv2.imread(str(path.with_suffix(".png")), cv2.IMREAD_GRAYSCALE)
            if mask is None:
                mask = np.zeros(image.shape[:2], np.uint8)
            samples.append(Sample(image, np.where(mask >= 128, 255, 0).astype(np.uint8)))
    return samples


def synthetic_samples(count: int = 24, size: int = 64) -> list[Sample]:
    rng = np.random.default_rng(0)
    samples = []
    for i in range(count):
        image = rng.integers(40, 90, (size, size, 3), dtype=np.uint8)
        mask = np.zeros((size, size), np.uint8)
        if i % 2:
            y, x = rng.integers(4, size - 16, 2)
            image[y : y + 10, x : x + 10] = 230
            mask[y : y + 10, x : x + 10] = 255
        samples.append(Sample(image, mask))
    return samples


def _iou(probs, masks, threshold) -> float:
    tp = fp = fn = 0
    for prob, mask in zip(probs, masks, strict=True):
        pred, truth = prob >= threshold, mask >= 128
        tp += np.count_nonzero(pred & truth)
        fp += np.count_nonzero(pred & ~truth)
        fn += np.count_nonzero(~pred & truth)
    return tp / (tp + fp + fn) if tp + fp + fn else 1.0


def measure(
    samples: list[Sample],
    train_share: float,
    config: TrainConfig,
    model_config: ModelConfig,
    line_size: tuple[int, int],
    repeats: int,
    log=print,
) -> tuple[dict, Engine]:
    rng = random.Random(0)
    order = list(range(len(samples)))
    rng.shuffle(order)
    cut = max(2, round(len(samples) * train_share))
    used, unseen = [samples[i] for i in order[:cut]], [samples[i] for i in order[cut:]]
    log(f"training on {len(used)} images for up to {config.max_seconds:.0f} s")
    result = train(used, model_config, config)
    size, policy = tuple(config.input_size), config.resize_policy
    onnx = export.to_onnx(result.model, size)
    gate, int8 = runtime_gate.prepare(
        onnx,
        [s.image for s in used],
        [s.mask for s in used],
        result.train_indices,
        result.val_indices,
        size,
        policy,
        result.rule,
        result.pixel_threshold,
        threads=config.threads,
    )
    chosen = runtime.resolve("auto", gate.passed, int8 is not None)
    log(f"accuracy gate chose {chosen}; judging {len(unseen)} unseen images")

    images, masks = [s.image for s in unseen], [s.mask for s in unseen]
    reference = predict_probs(result.model, images, size, policy)
    served = runtime.open_runner(chosen, onnx, int8, config.threads)
    probs = runtime_gate.predict_all(served, images, size, policy)
    rule = result.rule

    def verdicts(maps):
        return [image_scores(p, [rule.min_area])[0] >= rule.threshold for p in maps]

    agreement = float(
        np.mean([a == b for a, b in zip(verdicts(probs), verdicts(reference), strict=True)])
    )
    delta_pp = 100 * (
        _iou(probs, masks, result.pixel_threshold) - _iou(reference, masks, result.pixel_threshold)
    )

    # Speed at the line's size: the same weights (the network is fully convolutional),
    # re-exported and, for int8, calibrated on the same real images placed at that size.
    line_onnx = export.to_onnx(result.model, line_size)
    line_int8, calibration = None, None
    if runtime.OV_INT8 in runtime.available():
        calibration = [normalise(fit(s.image, line_size, policy)[0]) for s in used[:32]]
        line_int8 = runtime_gate.quantize_int8(line_onnx, calibration)
    engine = Engine(result.model, line_onnx, line_int8, chosen, line_size, calibration)
    x = batch_inputs([unseen[0].image], line_size, policy)[0]
    torch.set_num_threads(config.threads)
    with torch.inference_mode():
        tensor = torch.from_numpy(x)
        torch_ms = median_ms(lambda: torch.sigmoid(result.model(tensor)), repeats)
    per_runtime = {}
    for name in runtime.available():
        if name in runtime.FROM_WEIGHTS:
            continue  # the CPU runtimes here; the gpu section times the CUDA ones
        runner = runtime.open_runner(name, line_onnx, line_int8, config.threads)
        per_runtime[f"inference.runtime_ms.{name}"] = median_ms(lambda r=runner: r(x), repeats)
    engine_ms = per_runtime[f"inference.runtime_ms.{chosen}"]
    gate_figures = {}
    for c in gate.candidates:
        if c.verdict_agreement is not None:
            gate_figures[f"inference.gate.{c.runtime}.verdict_agreement"] = c.verdict_agreement
            gate_figures[f"inference.gate.{c.runtime}.iou_delta_pp"] = c.iou_delta_pp
        gate_figures[f"inference.gate.{c.runtime}.passed"] = c.passed
    eval_iou = _iou(reference, masks, result.pixel_threshold)
    if eval_iou < LEARNED_IOU:
        # A model that finds no defect agrees with any runtime: the agreement figures would
        # test nothing. From scratch (no pretrained encoder here) it needs several minutes.
        log(
            f"warning: the accuracy model's defect IoU is {eval_iou:.3f}: it has not learned "
            "the defects yet, so the runtimes' agreement says little; train longer "
            "(--train-minutes)"
        )
    return per_runtime | gate_figures | {
        "inference.torch_eager_fp32_ms": torch_ms,
        "inference.engine_ms": engine_ms,
        "inference.engine_runtime": chosen,
        "inference.speedup_vs_torch": torch_ms / engine_ms,
        "inference.verdict_agreement": agreement,
        "inference.accuracy_delta_iou_pp": delta_pp,
        "inference.eval_images": len(unseen),
        "inference.eval_defect_iou_fp32": eval_iou,
        "inference.accuracy_model_learned": bool(eval_iou >= LEARNED_IOU),
    }, engine
