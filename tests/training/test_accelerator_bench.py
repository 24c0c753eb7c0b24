"""The accelerator benchmark (the `gpu` section of `manage.py bench`) runs wherever torch does,
so it cannot rot on machines without a GPU; tests/training/test_cuda.py runs it on one."""

import json

from training.ml import accelerator_bench
from training.ml.model import ModelConfig

TINY = ModelConfig(decoder_channels=(16, 8, 8, 8, 8))


def test_each_variant_is_measured_and_fast_agrees_with_fp32():
    figures = accelerator_bench.measure(
        TINY,
        (64, 96),
        batches=(1, 2),
        train_batch=2,
        seconds=0.01,
        device="cpu",
        job_images=8,
        log=print,
    )
    assert figures["gpu.device"] == "cpu"
    assert figures["gpu.size"] == [64, 96]
    for key in (
        "gpu.infer_fp32_images_per_s_batch1",
        "gpu.infer_fast_images_per_s_batch1",
        "gpu.infer_fp32_images_per_s_batch2",
        "gpu.infer_fast_images_per_s_batch2",
        "gpu.train_fp32_images_per_s_batch2",
        "gpu.train_fast_images_per_s_batch2",
        "gpu.train_job_images_per_s",
    ):
        assert figures[key] > 0, key
    # bf16 keeps 8 bits of mantissa: probabilities move by well under a tenth.
    assert 0 <= figures["gpu.fast_max_prob_diff_vs_fp32"] < 0.1


def test_the_command_line_writes_its_figures_as_json(tmp_path, capsys):
    out = tmp_path / "gpu.json"
    accelerator_bench.main(
        "--device cpu --size 64 64 --batches 1 --train-batch 2 --seconds 0.01 --job-images 0 "
        f"--out {out}".split()
    )
    figures = json.loads(out.read_text())
    assert figures["gpu.infer_fast_images_per_s_batch1"] > 0
    assert "gpu.train_fp32_images_per_s_batch2" in capsys.readouterr().out
