"""The framework-free ML core, on tiny inputs."""

import io
import subprocess
import sys

import numpy as np
import pytest
import torch

from training.ml import losses, metrics
from training.ml.artifact import ArtifactError, ModelMeta, load_model, weights_bytes
from training.ml.model import ModelConfig, create_model
from training.ml.train import CheckpointUnreadable, Sample, TrainConfig, split_indices, train


def test_the_ml_core_does_not_import_django():
    code = (
        "import sys, training.ml.train, training.ml.artifact, training.ml.metrics; "
        "print('django' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_factory_builds_a_unet_with_one_output_channel():
    model, source = create_model(ModelConfig())
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 1, 64, 64)
    assert source.kind == "none" and "scratch" in source.detail


def test_auto_pos_weight_is_the_negative_ratio_with_a_cap():
    assert losses.auto_pos_weight(0.25) == pytest.approx(3.0)
    assert losses.auto_pos_weight(0.001) == losses.MAX_AUTO_POS_WEIGHT
    assert losses.auto_pos_weight(0.0) == losses.MAX_AUTO_POS_WEIGHT


def test_weighted_bce_weighs_positive_pixels():
    logits = torch.zeros(1, 1, 1, 2)
    target = torch.tensor([[[[1.0, 0.0]]]])
    plain = losses.weighted_bce(logits, target, 1.0)
    weighted = losses.weighted_bce(logits, target, 3.0)
    # log 2 per pixel; the positive pixel counts 3 times: (3 + 1) / 2 * log 2
    assert float(plain) == pytest.approx(np.log(2))
    assert float(weighted) == pytest.approx(2 * np.log(2))


def test_pixel_scores_match_a_hand_computed_case():
    prob = np.array([0.9, 0.8, 0.2, 0.1, 0.7])
    target = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    scores = metrics.pixel_scores(prob, target, 0.5)
    # tp = 2 (0, 4), fp = 1 (1), fn = 1 (2)
    assert scores["iou"] == pytest.approx(2 / 4)
    assert scores["dice"] == pytest.approx(4 / 6)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)


def test_detection_scores_count_images():
    scores = metrics.detection_scores([True, True, False, False], [True, False, True, False])
    assert (scores["tp"], scores["fp"], scores["fn"], scores["tn"]) == (1, 1, 1, 1)
    assert scores["f1"] == pytest.approx(0.5)


def test_split_is_by_image_and_deterministic():
    train_a, val_a = split_indices(20, 0.2, seed=3)
    train_b, val_b = split_indices(20, 0.2, seed=3)
    assert (train_a, val_a) == (train_b, val_b)
    assert len(val_a) == 4 and not set(train_a) & set(val_a)


def _samples(n=6):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        image = rng.integers(0, 80, (48, 70, 3), dtype=np.uint8)
        mask = np.zeros((48, 70), dtype=np.uint8)
        if i % 2 == 0:
            image[10:30, 20:40] = 250
            mask[10:30, 20:40] = 255
        out.append(Sample(image, mask))
    return out


def test_training_resumes_from_a_checkpoint_to_the_same_result():
    config = TrainConfig(
        epochs=2, batch_size=2, input_size=(32, 64), max_steps_per_epoch=2, precision="fp32"
    )
    checkpoints = []
    full = train(
        _samples(), ModelConfig(), config, on_epoch=lambda e, record, ckpt: checkpoints.append(ckpt)
    )
    resumed = train(_samples(), ModelConfig(), config, resume=checkpoints[0])
    assert len(full.history) == 2 and [h["epoch"] for h in resumed.history] == [0, 1]
    for a, b in zip(
        full.model.state_dict().values(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.allclose(a.float(), b.float(), atol=1e-5)
    assert {"train", "validation"} <= set(full.metrics)
    assert 0.0 <= full.metrics["train"]["pixel"]["all"]["iou"] <= 1.0
    assert full.rule.min_area >= 1 and 0 < full.rule.threshold < 1


def test_artifacts_round_trip_and_damaged_ones_fail_clearly():
    model, _ = create_model(ModelConfig())
    meta = ModelMeta(ModelConfig(), (64, 64), 0.5, 10)
    loaded = load_model(weights_bytes(model), ModelMeta.from_json(meta.to_json()))
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        assert torch.allclose(model.eval()(x), loaded(x))
    with pytest.raises(ArtifactError, match="damaged"):
        load_model(b"not a checkpoint", meta)
    with pytest.raises(ArtifactError, match="format version"):
        ModelMeta.from_json('{"format_version": 99}')


def test_a_damaged_checkpoint_is_refused_clearly():
    config = TrainConfig(
        epochs=1, batch_size=2, input_size=(32, 64), max_steps_per_epoch=1, precision="fp32"
    )
    checkpoints = []
    train(_samples(), ModelConfig(), config, on_epoch=lambda e, r, ckpt: checkpoints.append(ckpt))
    good = checkpoints[0]
    for damaged in (good[: len(good) // 2], b"not a checkpoint", b""):
        with pytest.raises(CheckpointUnreadable, match="unreadable"):
            train(_samples(), ModelConfig(), config, resume=damaged)
    foreign = io.BytesIO()
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointUnreadable, match="lacks"):
        train(_samples(), ModelConfig(), config, resume=foreign.getvalue())
