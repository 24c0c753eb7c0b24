"""One optimiser step of the default model: eager fp32 against the fast path (channels_last, and
bf16 autocast where the CPU has bf16 matrix units), with fp32 channels_last between them so
the two gains can be told apart."""

from __future__ import annotations

import torch

from defect_platform.bench.timing import median_ms
from training.ml.device import autocast, cpu_has_bf16
from training.ml.losses import make_loss
from training.ml.model import ModelConfig, create_model


def _step_ms(model_config, size, batch, precision, channels_last, repeats) -> float:
    torch.manual_seed(0)
    model, _ = create_model(model_config)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = make_loss("bce+dice", 10.0)
    x = torch.randn(batch, 3, *size).contiguous(memory_format=fmt)
    y = (torch.rand(batch, 1, *size) > 0.95).float()
    device = torch.device("cpu")

    def step():
        with autocast(device, precision):
            logits = model(x)
        loss = loss_fn(logits.float(), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    return median_ms(step, repeats)


def measure(model_config: ModelConfig, size, batch: int, threads: int, repeats: int) -> dict:
    torch.set_num_threads(threads)
    fast = "bf16" if cpu_has_bf16() else "fp32"
    fp32 = _step_ms(model_config, size, batch, "fp32", False, repeats)
    fp32_cl = _step_ms(model_config, size, batch, "fp32", True, repeats)
    quick = fp32_cl if fast == "fp32" else _step_ms(model_config, size, batch, fast, True, repeats)
    return {
        "training.cpu_fp32_step_s": fp32 / 1000,
        "training.cpu_fp32_channels_last_step_s": fp32_cl / 1000,
        "training.cpu_fast_step_s": quick / 1000,
        "training.cpu_fast_precision": f"{fast} channels_last",
        "training.fast_vs_fp32": quick / fp32,
    }
