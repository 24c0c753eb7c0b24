"""Serving a model version's torch weights on a CUDA GPU (the runtimes torch-cuda-bf16 and
torch-cuda-fp32 of runtime.py).

A U-Net + MobileNetV2 is about 150 small kernels. On an H200 their launches, not the
arithmetic, set the time of one view: 5.8 ms eagerly against under 1 ms replayed as a CUDA
graph (one launch for the whole network). Each input shape a station sends (one view for a
trigger, six for an object) is captured once and replayed after.
"""

from __future__ import annotations

import threading

import numpy as np
import torch

from training.ml.artifact import load_model
from training.ml.meta import ModelMeta
from training.ml.runtime import Runner

# Input shapes captured per model: each graph keeps its own activation memory.
MAX_GRAPHS = 4


class TorchCudaRunner(Runner):
    """Probabilities (N, 1, H, W) for a float32 batch (N, 3, H, W), computed on the GPU."""

    def __init__(self, name: str, weights: bytes, meta: ModelMeta, bf16: bool, graphs=True):
        self.name = name
        self._bf16 = bf16
        if not bf16:
            # fp32 means fp32: cuDNN's default TF32 convolutions differ from the export by
            # about 1e-3, beyond the parity the fp32 runtimes keep.
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.benchmark = True  # few input shapes per station: tune once
        self._model = load_model(weights, meta).to("cuda", memory_format=torch.channels_last)
        self._graphs: dict[tuple, tuple] = {}
        self._use_graphs = graphs
        self.graph_error = ""  # why replay is off, when a capture failed
        # One batch at a time: the GPU runs one stream anyway, and the captured graphs' input
        # buffers are shared.
        self._lock = threading.Lock()

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self._bf16):
            return torch.sigmoid(self._model(batch).float())

    def _captured(self, shape: tuple):
        entry = self._graphs.get(shape)
        if entry is not None or not self._use_graphs or len(self._graphs) >= MAX_GRAPHS:
            return entry
        try:
            static_in = torch.zeros(shape, device="cuda").contiguous(
                memory_format=torch.channels_last
            )
            # Warm-up on a side stream, as capture requires; cuDNN picks its algorithms here,
            # outside the capture.
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    self._forward(static_in)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = self._forward(static_in)
        except RuntimeError as exc:  # a capture can fail on odd drivers: eager still serves
            self._use_graphs = False
            self.graph_error = f"{type(exc).__name__}: {exc}"[:300]
            return None
        entry = self._graphs[shape] = (graph, static_in, static_out)
        return entry

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with self._lock, torch.inference_mode():
            host = torch.from_numpy(np.ascontiguousarray(x, np.float32))
            entry = self._captured(tuple(host.shape))
            if entry is None:
                batch = host.to("cuda").contiguous(memory_format=torch.channels_last)
                return self._forward(batch).cpu().numpy()
            graph, static_in, static_out = entry
            static_in.copy_(host)
            graph.replay()
            return static_out.cpu().numpy()
