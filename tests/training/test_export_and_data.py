"""Export parity, resize policies and the torch-free serving path."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from training.ml.data import defect_biased_crop, fit, unfit
from training.ml.export import PARITY_TOLERANCE, parity, to_onnx
from training.ml.model import ModelConfig, create_model
from training.ml.runtime import onnx_session
from training.ml.train import Sample, TrainConfig, predict_probs, train


def test_letterbox_keeps_aspect_and_maps_predictions_back():
    image = np.full((100, 300, 3), 200, np.uint8)
    placed, where = fit(image, (64, 64), "letterbox")
    assert placed.shape == (64, 64, 3)
    assert (where.height, where.width) == (21, 64)  # 100x300 scaled by 64/300
    prob = np.zeros((64, 64), np.float32)
    prob[where.top : where.top + where.height, :] = 1.0
    back = unfit(prob, where)
    assert back.shape == (100, 300) and back.min() == 1.0


def test_resize_stretches_and_unknown_policies_are_refused():
    placed, where = fit(np.zeros((10, 40, 3), np.uint8), (32, 32), "resize")
    assert placed.shape == (32, 32, 3) and (where.top, where.left) == (0, 0)
    with pytest.raises(ValueError, match="policy"):
        fit(np.zeros((10, 10, 3), np.uint8), (32, 32), "squash")


def test_crops_of_large_images_favour_defects():
    image = np.zeros((512, 512, 3), np.uint8)
    mask = np.zeros((512, 512), np.uint8)
    mask[400:410, 30:40] = 255
    rng = np.random.default_rng(0)
    hits = sum(defect_biased_crop(image, mask, (64, 64), rng)[1].any() for _ in range(100))
    assert hits >= 55  # uniform crops would contain it about 2% of the time


def _samples():
    rng = np.random.default_rng(1)
    out = []
    for i in range(8):
        image = rng.integers(0, 60, (40, 56, 3), dtype=np.uint8)
        mask = np.zeros((40, 56), np.uint8)
        if i % 2 == 0:
            image[10:22, 12:30] = 240
            mask[10:22, 12:30] = 255
            mask[9, 12:30] = 128  # a disputed border row
        out.append(Sample(image, mask))
    return out


@pytest.fixture(scope="module")
def trained():
    config = TrainConfig(
        epochs=2,
        batch_size=4,
        input_size=(32, 64),
        lr=0.01,
        loss="soft+dice",
        precision="fp32",
        resize_policy="letterbox",
    )
    return train(_samples(), ModelConfig(), config), config


def test_a_soft_label_job_trains_and_reports_undisputed_metrics(trained):
    result, _ = trained
    assert "undisputed" in result.metrics["train"]["pixel"]
    assert result.metrics["chosen_on"] == "validation"
    assert len(result.metrics["validation"]["per_image"]) == len(result.val_indices)


def test_export_leaves_the_model_in_eval_mode_and_matches_an_untrained_network():
    # Untrained BatchNorm statistics are far from any batch's: a graph traced in training
    # mode, or a model switched back to training by the exporter, shows up at once.
    model, _ = create_model(ModelConfig(decoder_channels=(32, 16, 8, 8, 8)))
    model.eval()
    onnx_bytes = to_onnx(model, (64, 96))
    assert not model.training
    inputs = np.random.default_rng(1).random((2, 3, 64, 96), dtype=np.float32)
    assert parity(model, onnx_bytes, inputs) <= PARITY_TOLERANCE


def test_the_onnx_export_matches_torch_probabilities_and_verdicts(trained):
    result, config = trained
    onnx_bytes = to_onnx(result.model, config.input_size)
    inputs = np.random.default_rng(0).standard_normal((3, 3, *config.input_size))
    assert parity(result.model, onnx_bytes, inputs.astype(np.float32)) <= PARITY_TOLERANCE
    images = [s.image for s in _samples()]
    torch_probs = predict_probs(result.model, images, config.input_size, "letterbox")
    session = onnx_session(onnx_bytes)
    from training.ml.data import batch_inputs

    x, placements = batch_inputs(images, config.input_size, "letterbox")
    onnx_probs = [
        unfit(p, pl)
        for p, pl in zip(session.run(None, {"image": x})[0][:, 0], placements, strict=True)
    ]
    rule = result.rule
    from training.ml.metrics import image_scores

    def verdicts(probs):
        return [image_scores(p, [rule.min_area])[0] >= rule.threshold for p in probs]

    assert verdicts(torch_probs) == verdicts(onnx_probs)
    assert max(np.abs(a - b).max() for a, b in zip(torch_probs, onnx_probs, strict=True)) < 1e-4


def test_bf16_autocast_training_runs_where_the_cpu_supports_it():
    from training.ml.device import cpu_has_bf16, pick_precision

    expected = "bf16" if cpu_has_bf16() else "fp32"
    assert pick_precision(torch.device("cpu")) == expected
    config = TrainConfig(
        epochs=1, batch_size=4, input_size=(32, 64), max_steps_per_epoch=1, precision="bf16"
    )
    result = train(_samples(), ModelConfig(), config)
    assert result.precision == "bf16" and np.isfinite(result.history[0]["train_loss"])


def test_the_serving_path_does_not_import_torch(tmp_path):
    model, _ = create_model(ModelConfig(decoder_channels=(32, 16, 8, 8, 8)))
    (tmp_path / "m.onnx").write_bytes(to_onnx(model, (32, 32)))
    code = (
        "import django, os, sys, numpy as np; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
        "'defect_platform.settings'); django.setup(); import inspection.engine, "
        "inspection.services, inspection.api, training.registry\n"
        "from training.ml import runtime\n"
        f"onnx = open({str(tmp_path / 'm.onnx')!r}, 'rb').read()\n"
        "for name in runtime.available():\n"
        "    if name != runtime.OV_INT8:\n"
        "        runtime.open_runner(name, onnx)(np.zeros((1, 3, 32, 32), np.float32))\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_create_model_loads_encoder_weights_from_a_local_file(tmp_path):
    reference, _ = create_model(ModelConfig())
    path = tmp_path / "encoder.pth"
    torch.save(reference.encoder.state_dict(), path)
    model, source = create_model(ModelConfig(), path)
    assert source.kind == "file" and not source.missing_keys
    for a, b in zip(
        reference.encoder.state_dict().values(), model.encoder.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)


def _hf_cache_with(tmp_path, state: dict) -> str:
    """A Hugging Face cache laid out as a download of smp's mobilenet_v2 weights leaves it."""
    from safetensors.torch import save_file
    from segmentation_models_pytorch.encoders import encoders

    hub = encoders["mobilenet_v2"]["pretrained_settings"]["imagenet"]
    repo = tmp_path / f"models--{hub['repo_id'].replace('/', '--')}"
    snapshot = repo / "snapshots" / hub["revision"]
    snapshot.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in state.items()}, snapshot / "model.safetensors")
    return str(tmp_path)


def test_create_model_takes_encoder_weights_from_the_hugging_face_cache(tmp_path):
    reference, _ = create_model(ModelConfig())
    cache = _hf_cache_with(tmp_path, reference.encoder.state_dict())
    model, source = create_model(ModelConfig(), hf_cache=True, hf_cache_dir=cache)
    assert source.kind == "hf-cache" and "Hugging Face cache" in source.detail
    for a, b in zip(
        reference.encoder.state_dict().values(), model.encoder.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    # An empty cache, or the cache not asked for: from scratch, and it says so.
    _, none = create_model(ModelConfig(), hf_cache=True, hf_cache_dir=tmp_path / "empty")
    _, off = create_model(ModelConfig(), hf_cache=False, hf_cache_dir=cache)
    assert none.kind == off.kind == "none" and "from scratch" in none.detail


def test_a_weights_file_for_another_encoder_falls_back_and_the_log_says_why(tmp_path):
    mobilenet, _ = create_model(ModelConfig())
    path = tmp_path / "mobilenet.pth"
    torch.save(mobilenet.encoder.state_dict(), path)
    model, source = create_model(ModelConfig(encoder="resnet18"), path)
    assert source.kind == "none"
    assert "from scratch" in source.detail
    assert "no weights for the resnet18 encoder" in source.detail
