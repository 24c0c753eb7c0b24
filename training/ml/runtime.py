"""Runtimes that serve exported models, without torch on CPU machines: a serving process loads
models through this module alone. Where a CUDA GPU is present, torch serves the version's
weights on it (bf16 autocast, channels_last) ahead of every CPU runtime.

Fastest first (see `manage.py bench`). On CPUs with AVX-512 VNNI and AMX, OpenVINO int8 runs a
U-Net + MobileNetV2 about 5x and OpenVINO bf16 about 3x faster than ONNX Runtime fp32. Without
AMX it depends on the CPU: on an AVX-512 BF16 Xeon bf16 took 245 ms where fp32 took 176 ms,
on an AMD EPYC with the same flags 177 against 356 ms. There bf16 is timed against fp32 once
per process and ranks after fp32 unless faster (still there for an explicit override). The
reduced precisions serve a model only when its accuracy gate passed them (runtime_gate.py).
"""

from __future__ import annotations

import functools
import importlib.util
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from training.ml.cpu import bf16_is_faster, bf16_worth_measuring, cpu_flags
from training.ml.meta import ModelMeta

ORT_FP32 = "onnxruntime-fp32"
OV_FP32 = "openvino-fp32"
OV_BF16 = "openvino-bf16"
OV_INT8 = "openvino-int8"
CUDA_BF16 = "torch-cuda-bf16"
CUDA_FP32 = "torch-cuda-fp32"
PREFERENCE = (CUDA_BF16, CUDA_FP32, OV_INT8, OV_BF16, OV_FP32, ORT_FP32)
REDUCED = frozenset({OV_INT8, OV_BF16, CUDA_BF16})
# These run the version's torch weights, not its ONNX export.
FROM_WEIGHTS = frozenset({CUDA_BF16, CUDA_FP32})
# Where an NVIDIA driver is loaded; torch is imported to ask CUDA only where one of these is.
_NVIDIA_DRIVER = ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/nvidia0")


class RuntimeUnavailable(RuntimeError):
    """A runtime this machine or this model version cannot provide; the message says why."""


def onnx_session(onnx_bytes: bytes, threads: int = 1):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    return ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])


@functools.cache
def openvino_capabilities() -> frozenset[str]:
    """What OpenVINO's CPU plugin can do here (empty when OpenVINO is not installed)."""
    try:
        import openvino as ov
    except ImportError:
        return frozenset()
    return frozenset(ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))


@functools.cache
def cuda_available() -> bool:
    """Whether torch can run on a CUDA GPU here. Without an NVIDIA driver torch is not imported
    at all, so CPU serving processes stay without it (about 300 MB less)."""
    if not any(Path(p).exists() for p in _NVIDIA_DRIVER):
        return False
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


def available() -> list[str]:
    """The runtimes this machine can run, fastest first."""
    capabilities, flags = openvino_capabilities(), cpu_flags()
    measured = None
    if "BF16" in capabilities and bf16_worth_measuring(flags):
        measured = openvino_bf16_is_faster()
    cuda = [CUDA_BF16, CUDA_FP32] if cuda_available() else []
    return cuda + ranked(capabilities, flags, measured)


def ranked(
    capabilities: frozenset[str], flags: frozenset[str], bf16_measured_faster: bool | None = None
) -> list[str]:
    """The runtimes OpenVINO's `capabilities` and the CPU's `flags` allow, fastest first.
    bf16 goes before fp32 with AMX, or where it was measured faster (cpu.py)."""
    names = []
    if "INT8" in capabilities:
        names.append(OV_INT8)
    bf16 = "BF16" in capabilities
    bf16_fast = bf16 and ("amx_bf16" in flags or bool(bf16_measured_faster))
    if bf16_fast:
        names.append(OV_BF16)
    if capabilities:
        names.append(OV_FP32)
    if bf16 and not bf16_fast:
        names.append(OV_BF16)
    return [*names, ORT_FP32]


@functools.cache
def openvino_bf16_is_faster() -> bool:
    """Times a small stack of 3x3 convolutions (most of a U-Net's time) compiled in fp32 and
    in bf16, interleaved; a fraction of a second, once per process."""
    import openvino as ov
    import openvino.opset13 as ops

    rng = np.random.default_rng(0)
    x = ops.parameter([1, 64, 128, 128], ov.Type.f32, name="x")
    out = x
    for _ in range(3):
        weights = ops.constant(rng.normal(0, 0.05, (64, 64, 3, 3)).astype(np.float32))
        out = ops.relu(ops.convolution(out, weights, [1, 1], [1, 1], [1, 1], [1, 1]))
    model = ov.Model([ops.result(out)], [x], "probe")
    data = rng.normal(0, 1, (1, 64, 128, 128)).astype(np.float32)
    requests = {}
    for precision in ("f32", "bf16"):
        config = {"INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": 1}
        requests[precision] = ov.Core().compile_model(model, "CPU", config).create_infer_request()
        requests[precision].infer({0: data})  # first run allocates
    times: dict[str, list[float]] = {"f32": [], "bf16": []}
    for _ in range(5):
        for precision, request in requests.items():
            started = time.perf_counter()
            request.infer({0: data})
            times[precision].append(time.perf_counter() - started)
    return bf16_is_faster(times["f32"], times["bf16"])


def resolve(requested: str, passed: set[str], has_int8: bool, has_weights: bool = False) -> str:
    """Which runtime serves a model version.

    `requested` is "auto" or a runtime name (an engineer's override, honoured even for a
    reduced precision the gate did not pass); `passed` holds the reduced precisions whose
    accuracy gate this version passed; `has_int8` says whether it has a quantized artifact,
    `has_weights` whether it has torch weights (the CUDA runtimes serve those).
    """
    here = available()
    if requested != "auto":
        if requested not in PREFERENCE:
            raise RuntimeUnavailable(
                f"unknown inference runtime {requested!r}; choose auto or one of {PREFERENCE}"
            )
        if requested not in here:
            raise RuntimeUnavailable(f"{requested} is not available on this machine")
        if requested == OV_INT8 and not has_int8:
            raise RuntimeUnavailable("this model version has no int8 artifact; retrain it")
        if requested in FROM_WEIGHTS and not has_weights:
            raise RuntimeUnavailable(f"{requested} needs the model's torch weights; it has none")
        return requested
    for name in here:
        if name == OV_INT8 and not has_int8:
            continue
        if name in FROM_WEIGHTS and not has_weights:
            continue
        if name in REDUCED and name not in passed:
            continue
        return name
    return ORT_FP32


class Runner:
    """Probabilities (N, 1, H, W) for a float32 batch (N, 3, H, W)."""

    name: str

    def __call__(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _OnnxRuntimeRunner(Runner):
    def __init__(self, onnx: bytes, threads: int):
        self.name = ORT_FP32
        self._session = onnx_session(onnx, threads)

    def __call__(self, x):
        # ONNX Runtime sessions are safe to call from several threads at once.
        return self._session.run(None, {"image": x})[0]


class _OpenVinoRunner(Runner):
    def __init__(self, name: str, model, precision: str, threads: int):
        import openvino as ov

        self.name = name
        # Batch 1, static: OpenVINO sizes a compiled model's activation memory for its
        # largest shape, and a dynamic batch holds buffers for several images per model
        # (6 models x 6 views would not fit a small serving machine). Views run one by one.
        shape = model.input(0).get_partial_shape()
        shape[0] = 1
        model.reshape({model.input(0): shape})
        config = {
            "INFERENCE_PRECISION_HINT": precision,
            "INFERENCE_NUM_THREADS": max(1, threads),
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
        }
        self._compiled = ov.Core().compile_model(model, "CPU", config)
        self._request = self._compiled.create_infer_request()
        # One infer request is not safe to share between threads; one per call costs more
        # than waiting, since both calls want the same cores anyway.
        self._lock = threading.Lock()

    def __call__(self, x):
        with self._lock:
            return np.concatenate(
                [np.array(self._request.infer({0: x[i : i + 1]})[0]) for i in range(len(x))]
            )


def _read_openvino(xml: bytes, weights: bytes):
    import openvino as ov

    return ov.Core().read_model(model=xml, weights=ov.Tensor(np.frombuffer(weights, np.uint8)))


def open_runner(
    name: str,
    onnx: bytes,
    int8: tuple[bytes, bytes] | None = None,
    threads: int = 1,
    weights: tuple[bytes, ModelMeta] | None = None,
    graphs: bool = True,
) -> Runner:
    """A runner for `name` from a model's ONNX export, for int8 its quantized OpenVINO IR
    (model XML, weights), for the CUDA runtimes its torch `weights` with their metadata
    (replayed as CUDA graphs unless `graphs` is False: cuda_runner.py)."""
    if name == ORT_FP32:
        return _OnnxRuntimeRunner(onnx, threads)
    if name in FROM_WEIGHTS:
        if name not in available():
            raise RuntimeUnavailable(f"{name} is not available on this machine (no CUDA GPU)")
        if weights is None:
            raise RuntimeUnavailable(f"{name} needs the model's torch weights")
        from training.ml.cuda_runner import TorchCudaRunner

        return TorchCudaRunner(name, *weights, bf16=name == CUDA_BF16, graphs=graphs)
    model = _openvino_model(name, onnx, int8)
    return _OpenVinoRunner(name, model, _compute_precision(name), threads)


def _openvino_model(name: str, onnx: bytes, int8: tuple[bytes, bytes] | None):
    if name not in available():
        raise RuntimeUnavailable(f"{name} is not available on this machine")
    if name == OV_INT8:
        if int8 is None:
            raise RuntimeUnavailable("this model version has no int8 artifact")
        return _read_openvino(*int8)
    # OpenVINO reads ONNX directly; an empty weights tensor means "inside the model bytes".
    return _read_openvino(onnx, b"")


def _compute_precision(name: str) -> str:
    if name == OV_INT8:
        # The layers left in floating point run in bf16 where the CPU has it: faster and
        # smaller, even without AMX (57 against 70 ms on an AVX-512 BF16 Xeon), and the
        # accuracy gate judges the result as a whole.
        return "bf16" if "BF16" in openvino_capabilities() else "f32"
    return "bf16" if name == OV_BF16 else "f32"


MERGEABLE = frozenset({OV_INT8, OV_BF16, OV_FP32})


def open_merged_runner(
    name: str, models: Iterable[tuple[bytes, tuple[bytes, bytes] | None]], threads: int = 1
) -> Runner:
    """One OpenVINO network holding several models side by side: one shared input, output
    channel k = model k's probability (N, K, H, W). The models must take the same input.

    Compiled apart, each model keeps its own activation memory; compiled as one graph, the
    models run one after another through one arena. In a bare process, six U-Net +
    MobileNetV2 at 256x1248 in fp32 peaked at 560 MB merged against 872 MB apart, in int8
    at 332 against 428 MB, at the same speed.
    """
    if name not in MERGEABLE:
        raise RuntimeUnavailable(f"{name} cannot merge models; open them one by one")
    import openvino as ov
    import openvino.opset13 as ops

    # One at a time, so that a generator's bytes go once OpenVINO has read them.
    parts = [_openvino_model(name, *artifacts) for artifacts in models]
    first = parts[0].input(0)
    image = ops.parameter(first.get_partial_shape(), first.get_element_type(), name="image")
    outputs = []
    for part in parts:
        if part.input(0).get_partial_shape() != first.get_partial_shape():
            raise ValueError("models merged into one network must take the same input shape")
        for consumer in part.get_parameters()[0].output(0).get_target_inputs():
            consumer.replace_source_output(image.output(0))
        outputs.append(part.get_results()[0].input_value(0))
    merged = ov.Model([ops.result(ops.concat(outputs, 1))], [image], "merged")
    return _OpenVinoRunner(name, merged, _compute_precision(name), threads)
