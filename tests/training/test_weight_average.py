"""The weight average: its arithmetic, BatchNorm statistics averaged with the weights, and in
the training loop the averaged weights are the ones validated, checkpointed and shipped."""

import io

import numpy as np
import pytest
import torch

from training.ml.averaging import WARMUP, WeightAverage
from training.ml.model import ModelConfig
from training.ml.train import Sample, TrainConfig, train

TINY = ModelConfig(decoder_channels=(16, 8, 8, 8, 8))


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))


def test_each_update_moves_the_average_towards_the_live_weights_by_one_minus_the_decay():
    live = _net()
    average = WeightAverage(live, decay=0.9)
    start = average.model[0].weight.clone()
    with torch.no_grad():
        live[0].weight.add_(1.0)
        live[1].running_mean.fill_(4.0)
    average.update(live)
    first = min(0.9, 2 / (WARMUP + 1))  # the warm-up ramp, not yet the decay
    expected = first * start + (1 - first) * live[0].weight
    assert torch.allclose(average.model[0].weight, expected, atol=1e-6)
    assert torch.allclose(average.model[1].running_mean, torch.full((2,), 4.0 * (1 - first)))
    assert int(average.model[1].num_batches_tracked) == int(live[1].num_batches_tracked)
    for _ in range(200):
        average.update(live)
    assert average.current_decay() == 0.9
    assert torch.allclose(average.model[0].weight, live[0].weight, atol=1e-6)


def test_the_average_is_its_own_copy_and_needs_no_gradients():
    live = _net()
    average = WeightAverage(live, decay=0.99)
    with torch.no_grad():
        live[0].weight.zero_()
    assert not torch.equal(average.model[0].weight, live[0].weight)
    assert not any(p.requires_grad for p in average.model.parameters())


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5])
def test_a_decay_outside_zero_to_one_is_refused(decay):
    with pytest.raises(ValueError, match="between 0 and 1"):
        WeightAverage(_net(), decay)


def _samples():
    rng = np.random.default_rng(0)
    out = []
    for _ in range(8):
        image = rng.integers(0, 60, (32, 32, 3), dtype=np.uint8)
        mask = np.zeros((32, 32), dtype=np.uint8)
        image[8:20, 10:24] = 240
        mask[8:20, 10:24] = 255
        out.append(Sample(image, mask))
    return out


def _config(**overrides):
    base = dict(
        epochs=3,
        batch_size=3,
        lr=0.01,
        input_size=(32, 32),
        validation=[6, 7],
        precision="fp32",
        augment="none",
        loss="bce",
        pos_weight=1.0,
        ema_decay=0.8,
    )
    return TrainConfig(**(base | overrides))


def test_training_ships_the_averaged_weights_of_its_best_epoch_and_resumes_the_average():
    checkpoints = {}

    def keep(epoch, record, checkpoint):
        checkpoints[epoch] = torch.load(io.BytesIO(checkpoint), weights_only=True)

    result = train(_samples(), TINY, _config(), on_epoch=keep)
    steps = 2  # six training images in batches of three
    assert [c["average"]["updates"] for c in checkpoints.values()] == [2, 4, 6]
    best = int(np.argmin([h["val_loss"] for h in result.history]))
    shipped = result.model.state_dict()
    for name, value in checkpoints[best]["average"]["model"].items():
        assert torch.equal(shipped[name].float(), value.float()), name
    live = checkpoints[best]["model"]
    assert any(not torch.equal(shipped[n].float(), v.float()) for n, v in live.items())

    # Resumed after epoch 0, the average goes on from where the checkpoint left it.
    buf = io.BytesIO()
    torch.save(checkpoints[0], buf)
    resumed_checkpoints = {}
    train(
        _samples(),
        TINY,
        _config(),
        on_epoch=lambda e, r, c: resumed_checkpoints.setdefault(
            e, torch.load(io.BytesIO(c), weights_only=True)
        ),
        resume=buf.getvalue(),
    )
    assert sorted(resumed_checkpoints) == [1, 2]
    assert resumed_checkpoints[2]["average"]["updates"] == 3 * steps


def test_without_a_decay_the_live_weights_ship_and_checkpoints_hold_no_average():
    checkpoints = {}

    def keep(epoch, record, checkpoint):
        checkpoints[epoch] = torch.load(io.BytesIO(checkpoint), weights_only=True)

    result = train(_samples(), TINY, _config(ema_decay=None, epochs=1), on_epoch=keep)
    assert checkpoints[0]["average"] is None
    for name, value in checkpoints[0]["model"].items():
        assert torch.equal(result.model.state_dict()[name].float(), value.float()), name
