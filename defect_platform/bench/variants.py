"""Distinct copies of the benchmark's network, standing for a station's six defect models.

Copies of one file would flatter a merged network: OpenVINO folds identical subgraphs into
one (six identical models merged ran in the time of one), which six real defect models never
allow. Each copy's weights are the network's own times 1 + 5% noise of its own: the same
cost per image, different numbers everywhere, int8 weights included.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from training.ml import runtime_gate

Artifacts = tuple[bytes, tuple[bytes, bytes] | None]  # ONNX, int8 IR (model XML, weights)


def _perturbed(model_bytes: bytes, seed: int) -> bytes:
    model = onnx.load_from_string(model_bytes)
    rng = np.random.default_rng(seed)
    for tensor in model.graph.initializer:
        values = numpy_helper.to_array(tensor)
        if values.dtype == np.float32 and values.ndim >= 1 and values.size > 1:
            noisy = values * (1 + 0.05 * rng.standard_normal(values.shape)).astype(np.float32)
            tensor.CopyFrom(numpy_helper.from_array(noisy, tensor.name))
    return model.SerializeToString()


def copies(engine, count: int) -> list[Artifacts]:
    """`count` artifacts: the engine's own first, then perturbed copies, quantized like it
    (on a few of its calibration images: the timing does not depend on the scales)."""
    out: list[Artifacts] = [(engine.onnx, engine.int8)]
    for k in range(1, count):
        model_bytes = _perturbed(engine.onnx, k)
        int8 = None
        if engine.int8 is not None:
            int8 = runtime_gate.quantize_int8(model_bytes, engine.calibration[:4])
        out.append((model_bytes, int8))
    return out


def write(folder, artifacts: list[Artifacts]) -> None:
    """model{k}.onnx, and int8_{k}.xml / int8_{k}.bin where quantized."""
    for k, (model_bytes, int8) in enumerate(artifacts):
        (folder / f"model{k}.onnx").write_bytes(model_bytes)
        if int8:
            (folder / f"int8_{k}.xml").write_bytes(int8[0])
            (folder / f"int8_{k}.bin").write_bytes(int8[1])
