"""The training loop's guards: early stopping keeps the best epoch, the thread cap holds while
training, a job lowers its process priority, and the learning rate settles by the end of the
epochs or of the time limit."""

import io
import os
import types

import numpy as np
import pytest
import torch

import training.ml.train as train_module
from training.ml.model import ModelConfig
from training.ml.train import (
    MIN_LR_SHARE,
    Sample,
    TrainConfig,
    learning_rate_factor,
    lower_priority,
    train,
)

TINY = ModelConfig(decoder_channels=(16, 8, 8, 8, 8))


def _samples(contrary_validation: bool) -> list[Sample]:
    """Eight 32x32 images with a bright defect; with `contrary_validation` the last two
    (the validation split) are labelled the other way round, so the better the model learns the
    training images, the worse its validation loss gets."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(8):
        image = rng.integers(0, 60, (32, 32, 3), dtype=np.uint8)
        mask = np.zeros((32, 32), dtype=np.uint8)
        image[8:20, 10:24] = 240
        mask[8:20, 10:24] = 255
        if contrary_validation and i >= 6:
            mask = 255 - mask
        out.append(Sample(image, mask))
    return out


def _config(**overrides) -> TrainConfig:
    base = {
        "epochs": 12,
        "batch_size": 3,
        "lr": 0.01,
        "input_size": (32, 32),
        "validation": [6, 7],
        "precision": "fp32",
        "augment": "none",
        "loss": "bce",
        "pos_weight": 1.0,
    }
    return TrainConfig(**(base | overrides))


def test_early_stopping_ends_the_run_and_keeps_the_best_epochs_weights():
    checkpoints = {}

    def keep(epoch, record, checkpoint):
        checkpoints[epoch] = checkpoint

    result = train(_samples(contrary_validation=True), TINY, _config(patience=2), on_epoch=keep)

    val_losses = [h["val_loss"] for h in result.history]
    best = int(np.argmin(val_losses))
    assert len(result.history) < 12
    # It stops once `patience` epochs in a row have not beaten the best one.
    assert len(result.history) == best + 2 + 1
    assert best < len(result.history) - 1
    best_state = torch.load(io.BytesIO(checkpoints[best]), weights_only=True)["model"]
    last_state = torch.load(io.BytesIO(checkpoints[len(val_losses) - 1]), weights_only=True)[
        "model"
    ]
    kept = result.model.state_dict()
    for name, value in best_state.items():
        assert torch.equal(kept[name].float(), value.float()), name
    assert any(
        not torch.equal(kept[name].float(), value.float()) for name, value in last_state.items()
    )


def test_without_patience_a_run_goes_on_to_its_last_epoch():
    config = _config(epochs=3, patience=None)
    result = train(_samples(contrary_validation=True), TINY, config)
    assert [h["epoch"] for h in result.history] == [0, 1, 2]
    assert all(0 < h["validation_seconds"] < h["seconds"] for h in result.history)


def test_training_runs_with_the_configured_number_of_threads():
    before = torch.get_num_threads()
    seen = []

    def on_step(epoch, step, steps, loss):
        seen.append(torch.get_num_threads())

    try:
        torch.set_num_threads(2)
        train(_samples(False), TINY, _config(epochs=1, threads=1), on_step=on_step)
        assert seen and set(seen) == {1}
        seen.clear()
        train(_samples(False), TINY, _config(epochs=1, threads=3), on_step=on_step)
        assert seen and set(seen) == {3}
    finally:
        torch.set_num_threads(before)


def test_lower_priority_sets_the_training_niceness_once():
    # In a forked child: niceness only ever goes up, and this process must keep its own.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            before = os.nice(0)
            lower_priority()
            once = os.nice(0)
            lower_priority()  # a second job in the same worker
            os.write(write_end, f"{before} {once} {os.nice(0)}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    reply = os.read(read_end, 64).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    before, once, twice = map(int, reply.split())
    assert before == os.nice(0)
    # At least 10 (the pytest process may be niced further already), never pushed lower.
    assert once == max(before, 10) and twice == once


def test_the_learning_rate_follows_a_cosine_to_the_epochs_or_the_time_limit():
    budget = dict(schedule="budget", steps=10, epochs=1000)
    assert learning_rate_factor(epoch=0, step=0, spent_s=0.0, max_s=60.0, **budget) == 1.0
    # Half the time spent in the first epoch of 1000: the clock, not the epochs, sets progress.
    half = learning_rate_factor(epoch=0, step=5, spent_s=30.0, max_s=60.0, **budget)
    assert half == pytest.approx(MIN_LR_SHARE + (1 - MIN_LR_SHARE) * 0.5)
    assert learning_rate_factor(epoch=3, step=0, spent_s=90.0, max_s=60.0, **budget) == (
        pytest.approx(MIN_LR_SHARE)
    )
    # Without a time limit it runs per step over the epochs.
    mid = learning_rate_factor("budget", 2, 0, 10, 4, spent_s=999.0, max_s=None)
    assert mid == pytest.approx(half)
    # "epochs" ignores the clock: 1000 epochs stopped early keep nearly the full rate.
    assert learning_rate_factor("epochs", 20, 0, 10, 1000, 59.0, 60.0) > 0.99


def test_a_run_stopped_by_its_time_limit_ends_on_a_low_learning_rate(monkeypatch):
    # A clock that moves 50 ms per reading: a loaded machine must not change how much of the
    # budget the first epoch takes (it once took a third, and its rate had fallen already).
    ticks = iter(range(10**6))
    clock = types.SimpleNamespace(perf_counter=lambda: next(ticks) * 0.05)
    monkeypatch.setattr(train_module, "time", clock)
    rates = {}

    def keep(epoch, record, checkpoint):
        state = torch.load(io.BytesIO(checkpoint), weights_only=True)
        rates[epoch] = state["optimiser"]["param_groups"][0]["lr"]

    config = _config(epochs=1000, max_seconds=1.5, lr=0.01)
    train(_samples(False), TINY, config, on_epoch=keep)
    assert 2 <= len(rates) < 1000
    assert rates[0] > 0.9 * 0.01
    assert rates[max(rates)] < 0.15 * 0.01
    falling = [rates[e] for e in sorted(rates)]
    assert falling == sorted(falling, reverse=True)


def _squares(n_positive: int, n_negative: int, size: int = 32) -> list[Sample]:
    """Bright squares of varied size and place on noise, and noise alone."""
    rng = np.random.default_rng(1)
    out = []
    for i in range(n_positive + n_negative):
        image = rng.integers(0, 80, (size, size, 3), dtype=np.uint8)
        mask = np.zeros((size, size), dtype=np.uint8)
        if i < n_positive:
            side = int(rng.integers(6, 12))
            y, x = rng.integers(0, size - side, 2)
            image[y : y + side, x : x + side] = rng.integers(200, 256)
            mask[y : y + side, x : x + side] = 255
        out.append(Sample(image, mask))
    return out


@pytest.mark.parametrize("loss", ["bce+dice", "soft+dice"])
def test_the_default_recipe_learns_an_easy_defect(loss):
    # A guard against a pipeline that runs but cannot learn (targets scaled wrong, a learning
    # rate that never moves, inputs and masks out of step): easy defects must be found.
    samples = _squares(10, 6)
    config = _config(
        epochs=40,
        batch_size=4,
        lr=0.01,
        validation=None,
        val_fraction=0.0,
        augment="flips",
        loss=loss,
        pos_weight=None,
    )
    result = train(samples, TINY, config)
    fit = result.metrics["train"]
    assert fit["image"]["f1"] == 1.0, fit["image"]
    assert fit["pixel"]["all"]["iou"] > 0.6, fit["pixel"]
