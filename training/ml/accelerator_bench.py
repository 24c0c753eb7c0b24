"""Throughput of one model on an accelerator: images per second for inference and training,
per precision and batch size. Imports no Django, so it runs on a bare GPU machine too:

    python -m training.ml.accelerator_bench --out gpu.json

`manage.py bench` adds these figures as its `gpu` section when CUDA is present. On a CPU the
same code runs (the test suite times tiny sizes there so it cannot rot).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from training.ml import runtime
from training.ml.artifact import weights_bytes
from training.ml.device import autocast, pick_device, pick_precision
from training.ml.losses import make_loss
from training.ml.meta import ModelMeta
from training.ml.model import ModelConfig, create_model

LINE_SIZE = (256, 1248)  # the research's straw images
VIEWS, MODELS = 6, 6  # one object of the research's line: 6 camera views, 6 defect types


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _per_call_s(fn: Callable[[], object], device, seconds: float, warmup: int = 3) -> float:
    """Mean wall time of one call, repeated for about `seconds` after `warmup` calls (the
    first pick kernels, cuDNN's autotuner among them)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    calls, started = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        if calls >= 3 and time.perf_counter() - started >= seconds:
            break
    _sync(device)
    return (time.perf_counter() - started) / calls


def _inputs(batch: int, size, device, channels_last: bool) -> torch.Tensor:
    x = torch.randn(batch, 3, *size, device=device)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def _prepared(model_config: ModelConfig, device, channels_last: bool, train: bool):
    torch.manual_seed(0)
    model, _ = create_model(model_config)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(device=device, memory_format=fmt)
    return model.train() if train else model.eval()


def inference_images_per_s(
    model_config, size, batch, device, precision, channels_last, seconds, compiled=False
) -> float:
    model = _prepared(model_config, device, channels_last, train=False)
    if compiled:
        # CUDA graphs ("reduce-overhead") replay the whole network as one launch: a U-Net +
        # MobileNetV2 is ~150 small kernels, and at batch 1 their launches dominate.
        model = torch.compile(model, mode="reduce-overhead")
    x = _inputs(batch, size, device, channels_last)

    def call():
        with torch.inference_mode(), autocast(device, precision):
            return torch.sigmoid(model(x))

    return batch / _per_call_s(call, device, seconds)


def training_images_per_s(model_config, size, batch, device, precision, channels_last, seconds):
    model = _prepared(model_config, device, channels_last, train=True)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = make_loss("bce+dice", 10.0)
    # fp16 needs loss scaling (its range underflows small gradients); bf16 and fp32 do not.
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    x = _inputs(batch, size, device, channels_last)
    y = (torch.rand(batch, 1, *size, device=device) > 0.95).float()

    def step():
        with autocast(device, precision):
            logits = model(x)
        loss = loss_fn(logits.float(), y)
        optimiser.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimiser)
        scaler.update()

    return batch / _per_call_s(step, device, seconds)


def fp32_agreement(model_config, size, device, precision, channels_last) -> float:
    """Max absolute difference of probabilities between the fast path and strict fp32 on the
    same device and input (no TF32 in the reference)."""
    model = _prepared(model_config, device, channels_last=False, train=False)
    x = _inputs(2, size, device, channels_last=False)
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
        with torch.inference_mode():
            reference = torch.sigmoid(model(x)).float()
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    with torch.inference_mode(), autocast(device, precision):
        fast = torch.sigmoid(model(x.contiguous(memory_format=fmt))).float()
    return float((fast - reference).abs().max())


def job_images_per_s(model_config, size, images: int, batch: int, device: str) -> dict:
    """Training images per second in a real job's loop (training.ml.train: augmentations,
    host-to-device copies and all), from its per-epoch timings without the validation pass;
    the second epoch, after cuDNN has tuned. The step figures above are what the device
    alone could do; the gap between the two is the input pipeline."""
    from training.ml.train import Sample, TrainConfig, train

    rng = np.random.default_rng(0)
    samples = []
    for i in range(images):
        image = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
        mask = np.zeros(size, np.uint8)
        if i % 2:
            mask[size[0] // 4 : size[0] // 2, size[1] // 4 : size[1] // 2] = 255
        samples.append(Sample(image, mask))
    config = TrainConfig(
        epochs=2,
        batch_size=batch,
        input_size=tuple(size),
        augment="full",
        device=device,
        hf_cache=False,
    )
    result = train(samples, model_config, config)
    last = result.history[-1]
    trained = len(result.train_indices)
    return {
        "gpu.train_job_images_per_s": trained / (last["seconds"] - last["validation_seconds"]),
        "gpu.train_job_batch": batch,
        "gpu.train_job_precision": result.precision,
    }


def engine_object_ms(
    model_config, size, name, seconds, graphs=True, views=VIEWS, models=MODELS
) -> dict:
    """One object through the engine's CUDA runtime `name`: `views` images (host memory, as
    cameras deliver them) judged by `models` models of the same architecture, and one view
    by one model. Includes the copies to and from the GPU. `graphs`: replayed as CUDA graphs
    (the engine's way) or launched eagerly, for the ratio."""
    meta = ModelMeta(model_config, tuple(size), 0.5, 1)
    runners = []
    for seed in range(models):
        torch.manual_seed(seed)
        model, _ = create_model(model_config)
        weights = (weights_bytes(model), meta)
        runners.append(runtime.open_runner(name, b"", weights=weights, graphs=graphs))
    x = torch.randn(views, 3, *size).numpy()
    one = _per_call_s(lambda: runners[0](x[:1]), torch.device("cpu"), seconds)
    whole = _per_call_s(lambda: [run(x) for run in runners], torch.device("cpu"), seconds)
    label = name if graphs else f"{name}_eager"
    return {f"gpu.engine_ms_{label}": one * 1000, f"gpu.object_ensemble_ms_{label}": whole * 1000}


def measure(
    model_config: ModelConfig | None = None,
    size=LINE_SIZE,
    batches=(1, 32),
    train_batch: int = 16,
    seconds: float = 2.0,
    device: str = "auto",
    compiled: bool = True,
    job_images: int = 0,
    log=print,
) -> dict:
    """The accelerator's figures as a flat dict under `gpu.` (named so because that is where
    they matter; `gpu.device` says what actually ran)."""
    model_config = model_config or ModelConfig()
    dev = pick_device(device)
    fast = pick_precision(dev)
    torch.backends.cudnn.benchmark = dev.type == "cuda"  # fixed shapes: let cuDNN pick
    figures: dict = {
        "gpu.device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "gpu.size": list(size),
        "gpu.fast_precision": f"{fast} channels_last",
        "gpu.torch": torch.__version__,
        # torch's default: cuDNN convolutions in "fp32" use TF32 tensor cores.
        "gpu.fp32_uses_tf32": bool(dev.type == "cuda" and torch.backends.cudnn.allow_tf32),
    }
    variants = {"fp32": ("fp32", False), "fast": (fast, True)}
    for batch in batches:
        for label, (precision, channels_last) in variants.items():
            ips = inference_images_per_s(
                model_config, size, batch, dev, precision, channels_last, seconds
            )
            figures[f"gpu.infer_{label}_images_per_s_batch{batch}"] = ips
            log(f"  inference {label:5s} batch {batch:3d}: {ips:9.1f} images/s")
    for label, (precision, channels_last) in variants.items():
        ips = training_images_per_s(
            model_config, size, train_batch, dev, precision, channels_last, seconds
        )
        figures[f"gpu.train_{label}_images_per_s_batch{train_batch}"] = ips
        log(f"  training  {label:5s} batch {train_batch:3d}: {ips:9.1f} images/s")
    figures["gpu.fast_max_prob_diff_vs_fp32"] = fp32_agreement(model_config, size, dev, fast, True)
    if job_images:
        figures |= job_images_per_s(model_config, size, job_images, train_batch, str(dev))
        log(f"  training job loop: {figures['gpu.train_job_images_per_s']:9.1f} images/s")
    if dev.type == "cuda":
        figures["gpu.peak_memory_mb"] = torch.cuda.max_memory_allocated(dev) / 2**20
        figures |= engine_figures(model_config, size, seconds, log)
    if compiled and dev.type == "cuda":
        figures |= _compiled(model_config, size, batches, dev, fast, seconds, log)
    return figures


def engine_figures(model_config, size, seconds, log=print) -> dict:
    figures = {}
    for name, graphs in (
        (runtime.CUDA_BF16, True),
        (runtime.CUDA_BF16, False),
        (runtime.CUDA_FP32, True),
    ):
        found = engine_object_ms(model_config, size, name, seconds, graphs)
        one, whole = found.values()
        log(f"  engine {name} graphs={graphs}: one view {one:.1f} ms, one object {whole:.1f} ms")
        figures |= found
    return figures


def _compiled(model_config, size, batches, dev, precision, seconds, log) -> dict:
    """Last, since compiling takes a minute or more per batch size."""
    figures = {}
    for batch in batches:
        try:
            ips = inference_images_per_s(
                model_config, size, batch, dev, precision, True, seconds, compiled=True
            )
        except Exception as exc:  # an inductor or Triton failure must not end the run
            figures["gpu.compiled_error"] = f"{type(exc).__name__}: {exc}"[:300]
            log(f"  compiled: {figures['gpu.compiled_error']}")
            break
        figures[f"gpu.infer_compiled_images_per_s_batch{batch}"] = ips
        log(f"  inference compiled batch {batch:3d}: {ips:9.1f} images/s")
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("gpu.json"))
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--size", type=int, nargs=2, default=list(LINE_SIZE))
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--train-batch", type=int, default=16)
    parser.add_argument("--job-images", type=int, default=64, help="0: no job-loop figure")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--engine-only", action="store_true", help="only the engine's figures")
    args = parser.parse_args(argv)
    if args.engine_only:
        figures = engine_figures(ModelConfig(), tuple(args.size), args.seconds)
    else:
        figures = measure(
            size=tuple(args.size),
            batches=tuple(args.batches),
            train_batch=args.train_batch,
            seconds=args.seconds,
            device=args.device,
            compiled=not args.no_compile,
            job_images=args.job_images,
        )
    args.out.write_text(json.dumps(figures, indent=2))
    for key, value in figures.items():
        shown = f"{value:.3g}" if isinstance(value, float) else value
        sys.stdout.write(f"{key:48s} {shown}\n")


if __name__ == "__main__":
    main()
