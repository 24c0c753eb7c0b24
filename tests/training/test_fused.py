"""The fused option's ML core: partial labels, one network for several defect types."""

import numpy as np
import pytest
import torch

from training.ml import fused
from training.ml.model import ModelConfig
from training.ml.train import TrainConfig

TINY = ModelConfig(encoder="mobilenet_v2", decoder_channels=(16, 8, 8, 4, 4))


def _sample(kind: str, seed: int) -> fused.FusedSample:
    rng = np.random.default_rng(seed)
    image = rng.integers(60, 120, (48, 48, 3), dtype=np.uint8)
    mask = np.zeros((48, 48), np.uint8)
    if kind == "bright":
        image[10:26, 10:26] = 250
        mask[10:26, 10:26] = 255
        return fused.FusedSample(image, mask, 0)
    if kind == "dark":
        image[20:36, 20:36] = 0
        mask[20:36, 20:36] = 255
        return fused.FusedSample(image, mask, 1)
    return fused.FusedSample(image, mask, None)


def test_a_labelled_image_teaches_its_channel_and_a_clean_one_every_channel():
    assert fused.supervision(_sample("bright", 0), 3).tolist() == [1, 0, 0]
    assert fused.supervision(_sample("dark", 0), 3).tolist() == [0, 1, 0]
    assert fused.supervision(_sample("clean", 0), 3).tolist() == [1, 1, 1]


def test_unsupervised_channels_get_no_gradient():
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    target = torch.zeros(2, 3, 8, 8)
    target[0, 0, 2:5, 2:5] = 1
    supervised = torch.tensor([[1.0, 0, 0], [0, 0, 1]])
    fused.partial_label_loss(logits, target, supervised, 5.0).backward()
    grads = logits.grad.abs().sum((2, 3))
    assert (grads[supervised == 0] == 0).all()
    assert (grads[supervised == 1] > 0).all()
    # Whatever the unsupervised channels predict, the loss is the same.
    other = logits.detach().clone()
    other[0, 1] += 100
    base = fused.partial_label_loss(logits.detach(), target, supervised, 5.0)
    assert fused.partial_label_loss(other, target, supervised, 5.0) == pytest.approx(float(base))


def test_the_split_keeps_each_type_and_clean_images_on_both_sides():
    samples = [_sample(k, i) for i, k in enumerate(["bright"] * 5 + ["dark"] * 5 + ["clean"] * 5)]
    train, val = fused.split(samples, 0.4, seed=0)
    assert sorted(train + val) == list(range(15))
    for group in (range(0, 5), range(5, 10), range(10, 15)):
        assert set(group) & set(train) and set(group) & set(val)


def test_one_network_learns_two_types_from_partial_labels():
    samples = [_sample(k, i) for i, k in enumerate(["bright"] * 10 + ["dark"] * 10 + ["clean"] * 8)]
    config = TrainConfig(
        epochs=30,
        batch_size=8,
        lr=0.01,
        input_size=(48, 48),
        seed=0,
        augment="flips",
        val_fraction=0.25,
        threads=2,
    )
    result = fused.train_fused(samples, 2, TINY, config)
    assert len(result.channels) == 2 and result.history
    probs = fused.predict_channels(
        result.model, [_sample("bright", 100).image, _sample("dark", 101).image], (48, 48), "resize"
    )
    assert probs[0].shape == (2, 48, 48)
    bright, dark = probs
    # Each channel answers its own defect type, inside the defect, more than the other's.
    assert bright[0, 10:26, 10:26].mean() > bright[1, 10:26, 10:26].mean()
    assert dark[1, 20:36, 20:36].mean() > dark[0, 20:36, 20:36].mean()


def test_the_fused_quality_check_compares_both_options_on_the_same_held_out_images():
    from pathlib import Path

    from tests.conftest import require_shared
    from training import fused_quality

    root = require_shared(Path(__file__).resolve().parents[3] / "shared/datasets/magnetic-tile")
    report = fused_quality.compare(
        root, ["MT_Blowhole", "MT_Break"], 0.05, seed=0, threads=2, size=(64, 64), limit=12
    )
    rows = report["types"]
    assert [r["type"] for r in rows] == ["MT_Blowhole", "MT_Break"]
    for r in rows:
        assert r["held_out"] == 4 + 4  # 30% of 12 defects, 30% of 12 clean images
        for option in ("ensemble", "fused"):
            assert 0.0 <= r[option]["f1"] <= 1.0 and r[option]["epochs"] >= 1
        assert r["f1_gap_pp"] == pytest.approx(100 * (r["fused"]["f1"] - r["ensemble"]["f1"]))


def test_with_an_average_the_fused_model_ships_the_average(monkeypatch):
    made = []

    class Recorded(fused.WeightAverage):
        def __init__(self, *args):
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(fused, "WeightAverage", Recorded)
    samples = [_sample(k, i) for i, k in enumerate(["bright"] * 3 + ["dark"] * 3 + ["clean"] * 2)]
    config = TrainConfig(
        epochs=2, batch_size=4, input_size=(48, 48), seed=0, val_fraction=0.25, ema_decay=0.9
    )
    result = fused.train_fused(samples, 2, TINY, config)
    (average,) = made
    assert result.model is average.model
    assert average.updates == 2 * 2  # two epochs of two batches (six training images)
    assert not result.model.training
    no_average = fused.train_fused(
        samples, 2, TINY, TrainConfig(**{**config.__dict__, "ema_decay": None})
    )
    assert len(made) == 1
    live = dict(no_average.model.named_parameters())
    assert any(not torch.equal(p, live[name]) for name, p in result.model.named_parameters())
