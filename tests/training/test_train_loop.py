"""The training loop's guards: early stopping keeps the best epoch, the thread cap holds while
training, and a job lowers its process priority."""

import io
import os

import numpy as np
import torch

from training.ml.model import ModelConfig
from training.ml.train import Sample, TrainConfig, lower_priority, train

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
