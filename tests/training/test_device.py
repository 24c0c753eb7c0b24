"""Where training runs and in which precision: chosen from the machine's devices and CPU
features, and an explicit choice always wins."""

import torch

from training.ml.cpu import cpu_flags, parse_cpu_flags
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


def test_auto_precision_on_a_cpu_is_bf16_only_with_bf16_matrix_units():
    cpu = torch.device("cpu")
    assert pick_precision(cpu, "auto", frozenset({"amx_bf16", "amx_tile"})) == "bf16"
    assert pick_precision(cpu, "auto", parse_cpu_flags(CPUINFO)) == "bf16"
    # AVX-512 BF16 without AMX converts more than it gains: fp32 (channels_last) is as fast.
    assert pick_precision(cpu, "auto", frozenset({"avx512_bf16", "avx512f"})) == "fp32"
    assert pick_precision(cpu, "auto", frozenset({"avx2", "avx512f"})) == "fp32"
    assert pick_precision(cpu, "auto", frozenset()) == "fp32"


def test_auto_precision_follows_this_machines_cpu():
    expected = "bf16" if "amx_bf16" in cpu_flags() else "fp32"
    assert cpu_has_bf16() == (expected == "bf16")
    assert pick_precision(torch.device("cpu")) == expected


def test_an_explicit_precision_is_kept_whatever_the_cpu():
    cpu = torch.device("cpu")
    assert pick_precision(cpu, "fp32", frozenset({"avx512_bf16"})) == "fp32"
    assert pick_precision(cpu, "bf16", frozenset()) == "bf16"
