"""On a CUDA GPU: a job trains there in bf16, the CUDA serving runtimes agree with the ONNX
export (fp32 within the export's parity; bf16 through the accuracy gate, which picks it), and
the accelerator benchmark runs. Machines without a GPU (CI's) skip this module. It imports no
Django, so a bare GPU machine runs it with

    python -m pytest --noconftest -c /dev/null --rootdir . tests/training/test_cuda.py
"""

import numpy as np
import pytest

from training.ml import accelerator_bench, export, runtime, runtime_gate
from training.ml.artifact import weights_bytes
from training.ml.data import batch_inputs
from training.ml.meta import ModelMeta
from training.ml.model import ModelConfig
from training.ml.train import Sample, TrainConfig, train

pytestmark = pytest.mark.skipif(not runtime.cuda_available(), reason="no CUDA GPU here")

TINY = ModelConfig(decoder_channels=(16, 8, 8, 8, 8))
SIZE = (64, 64)


def _squares(n=32):
    rng = np.random.default_rng(0)
    samples = []
    for i in range(n):
        image = rng.integers(0, 60, (*SIZE, 3), dtype=np.uint8)
        mask = np.zeros(SIZE, np.uint8)
        if i % 2:
            y, x = rng.integers(4, 40, 2)
            image[y : y + 16, x : x + 16] = 230
            mask[y : y + 16, x : x + 16] = 255
        samples.append(Sample(image, mask))
    return samples


@pytest.fixture(scope="module")
def trained():
    samples = _squares()
    config = TrainConfig(
        epochs=25,
        batch_size=8,
        lr=0.01,
        input_size=SIZE,
        augment="none",
        hf_cache=False,
    )
    result = train(samples, TINY, config)
    meta = ModelMeta(
        TINY, SIZE, result.rule.threshold, result.rule.min_area, result.pixel_threshold
    )
    onnx = export.to_onnx(result.model, SIZE)
    return samples, result, meta, onnx, (weights_bytes(result.model), meta)


def test_training_runs_on_the_gpu_in_bf16(trained):
    _, result, *_ = trained
    assert result.device.startswith("cuda")
    assert result.precision == "bf16"
    assert max(h["val_f1"] for h in result.history) >= 0.9


def test_cuda_fp32_serves_what_the_onnx_export_gives(trained):
    samples, _, meta, onnx, weights = trained
    x, _ = batch_inputs([s.image for s in samples[:8]], SIZE, "resize")
    reference = runtime.open_runner(runtime.ORT_FP32, onnx)(x)
    cuda = runtime.open_runner(runtime.CUDA_FP32, onnx, weights=weights)
    assert runtime.available()[:2] == [runtime.CUDA_BF16, runtime.CUDA_FP32]
    # The first call of a shape captures a CUDA graph, later ones replay it; each batch size
    # has its own, and every answer is the export's.
    for batch in (x, x, x[:3], x[:3], x):
        assert np.abs(cuda(batch) - reference[: len(batch)]).max() <= export.PARITY_TOLERANCE
    assert cuda.graph_error == ""
    eager = runtime.open_runner(runtime.CUDA_FP32, onnx, weights=weights, graphs=False)
    assert np.abs(eager(x) - reference).max() <= export.PARITY_TOLERANCE


def test_the_gate_passes_cuda_bf16_and_picks_it(trained):
    samples, result, meta, onnx, weights = trained
    report, _ = runtime_gate.prepare(
        onnx,
        [s.image for s in samples],
        [s.mask for s in samples],
        result.train_indices,
        result.val_indices,
        SIZE,
        "resize",
        result.rule,
        result.pixel_threshold,
        weights=weights,
    )
    bf16 = next(c for c in report.candidates if c.runtime == runtime.CUDA_BF16)
    assert bf16.passed, bf16.reason
    assert bf16.max_abs_diff < 0.05
    assert report.chosen == runtime.CUDA_BF16
    # Without the weights the CUDA runtimes cannot serve, and the gate says why.
    report, _ = runtime_gate.prepare(
        onnx,
        [s.image for s in samples],
        [s.mask for s in samples],
        result.train_indices,
        result.val_indices,
        SIZE,
        "resize",
        result.rule,
        result.pixel_threshold,
    )
    assert report.chosen not in runtime.FROM_WEIGHTS


def test_the_accelerator_benchmark_measures_the_gpu():
    figures = accelerator_bench.measure(
        TINY, SIZE, batches=(1, 4), train_batch=4, seconds=0.2, compiled=False, log=lambda _: 0
    )
    assert figures["gpu.device"] != "cpu"
    assert figures["gpu.infer_fast_images_per_s_batch4"] > 0
    assert figures["gpu.train_fast_images_per_s_batch4"] > 0
    assert figures[f"gpu.object_ensemble_ms_{runtime.CUDA_BF16}"] > 0
    assert figures[f"gpu.object_ensemble_ms_{runtime.CUDA_BF16}_eager"] > 0
