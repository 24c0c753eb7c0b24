"""Export to ONNX, the artifact the inspection engine serves, and the parity check with torch."""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch

from training.ml.runtime import onnx_session

OPSET = 17
# fp32 export must reproduce torch probabilities to this absolute difference.
PARITY_TOLERANCE = 1e-4


class _Probabilities(torch.nn.Module):
    """The exported graph ends in a sigmoid, so every runtime returns probabilities."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.sigmoid(self.net(x))


def to_onnx(model: torch.nn.Module, input_size: tuple[int, int], channels: int = 3) -> bytes:
    # The wrapper must be in eval mode too: the exporter restores the mode it found on the
    # wrapper, which would otherwise switch the network (and its BatchNorm) to training.
    wrapped = _Probabilities(model.eval().cpu().to(memory_format=torch.contiguous_format)).eval()
    example = torch.zeros(1, channels, *input_size)
    buf = io.BytesIO()
    # The TorchScript exporter is deliberate: it needs no extra packages and its graphs run
    # unchanged in ONNX Runtime and OpenVINO; torch warns that it is no longer the default.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            wrapped,
            (example,),
            buf,
            input_names=["image"],
            output_names=["probability"],
            dynamic_axes={"image": {0: "batch"}, "probability": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
    return buf.getvalue()


def parity(model: torch.nn.Module, onnx_bytes: bytes, inputs: np.ndarray) -> float:
    """Max absolute difference of probabilities between torch fp32 and the ONNX export."""
    session = onnx_session(onnx_bytes)
    with torch.inference_mode():
        expected = torch.sigmoid(model.eval()(torch.from_numpy(inputs))).numpy()
    got = session.run(None, {"image": inputs.astype(np.float32)})[0]
    return float(np.abs(expected - got).max())
