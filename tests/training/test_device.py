"""Where training runs and in which precision: chosen from the machine's devices and CPU
features (and, where the flags cannot tell, a measurement), and an explicit choice always
wins."""

import torch

from training.ml import device
from training.ml.cpu import bf16_is_faster, bf16_worth_measuring, cpu_flags, parse_cpu_flags
from training.ml.device import cpu_has_bf16, pick_device, pick_precision

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu vme sse sse2 avx avx2 avx512f avx512_bf16 amx_bf16 amx_tile
bogomips\t: 4000.00

processor\t: 1
flags\t\t: fpu vme sse sse2
"""


def test_auto_picks_cuda_only_where_there_is_one():
    device = pick_device("auto")
    assert device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert torch.ones(2, device=device).sum().item() == 2.0
    assert pick_device("cpu") == torch.device("cpu")


def test_cpu_flags_are_read_from_the_first_processor():
    flags = parse_cpu_flags(CPUINFO)
    assert {"avx512_bf16", "amx_bf16", "avx2"} <= flags and "bogomips" not in flags
    assert parse_cpu_flags("processor\t: 0\n") == frozenset()


def test_auto_precision_on_a_cpu_is_bf16_with_amx_or_where_it_measured_faster(monkeypatch):
    cpu = torch.device("cpu")
    assert pick_precision(cpu, "auto", frozenset({"amx_bf16", "amx_tile"})) == "bf16"
    assert pick_precision(cpu, "auto", parse_cpu_flags(CPUINFO)) == "bf16"
    # AVX-512 BF16 without AMX: slower than fp32 on some CPUs, twice as fast on others.
    no_amx = frozenset({"avx512_bf16", "avx512f"})
    monkeypatch.setattr(device, "bf16_trains_faster", lambda: False)
    assert pick_precision(cpu, "auto", no_amx) == "fp32"
    monkeypatch.setattr(device, "bf16_trains_faster", lambda: True)
    assert pick_precision(cpu, "auto", no_amx) == "bf16"
    # Without either, bf16 is never chosen, whatever a measurement would say.
    assert pick_precision(cpu, "auto", frozenset({"avx2", "avx512f"})) == "fp32"
    assert pick_precision(cpu, "auto", frozenset()) == "fp32"


def test_auto_precision_on_cuda_is_bf16_where_the_gpu_has_it_else_fp16(monkeypatch):
    # The choice alone: this machine has no GPU to run the autocast on.
    gpu = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert pick_precision(gpu) == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    assert pick_precision(gpu) == "fp16"  # with a gradient scaler (train.py)
    assert pick_precision(gpu, "fp32") == "fp32"


def test_the_bf16_rule_needs_a_margin_over_noise():
    assert bf16_is_faster([2.0, 2.2, 2.1], [1.0, 1.1, 0.9])
    assert not bf16_is_faster([1.0, 1.05, 1.1], [1.0, 0.95, 0.97])  # 8%: noise
    assert not bf16_is_faster([1.0, 1.0, 1.0], [1.4, 1.3, 1.5])


def test_auto_precision_follows_this_machines_cpu():
    flags = cpu_flags()
    measured = device.bf16_trains_faster()
    assert isinstance(measured, bool)
    expected = "amx_bf16" in flags or (bf16_worth_measuring(flags) and measured)
    assert cpu_has_bf16() == expected
    assert pick_precision(torch.device("cpu")) == ("bf16" if expected else "fp32")


def test_an_explicit_precision_is_kept_whatever_the_cpu():
    cpu = torch.device("cpu")
    assert pick_precision(cpu, "fp32", frozenset({"avx512_bf16"})) == "fp32"
    assert pick_precision(cpu, "bf16", frozenset()) == "bf16"
