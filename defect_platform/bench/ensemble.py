"""One object through the engine: every view of a station judged by every defect model."""

from __future__ import annotations

from dataclasses import dataclass

from defect_platform.bench.timing import median_ms
from defect_platform.synthetic.straws import render_views, sample_straw
from inspection import engine as inspection_engine
from training.ml import export, runtime, runtime_gate
from training.ml.meta import ModelMeta
from training.ml.model import ModelConfig, create_model
from training.registry import FusedChannel, LoadedModel, SharedRun

VIEWS = 6
MODELS = 6


def measure(
    engine, model_config: ModelConfig, fused: Fused, copies, threads: int, repeats: int
) -> dict:
    """Six distinct copies of one architecture (bench/variants.py) stand in for the six
    defect models, merged into one network as the engine serves a station where the runtime
    can, and apart for the ratio."""
    meta = ModelMeta(model_config, engine.size, 0.5, 1, 0.5, "resize")
    name = engine.runtime
    apart = [
        LoadedModel(
            k, f"defect {k}", k, 1, 0.5, 1, 0.5, meta, name, runtime.open_runner(name, *c, threads)
        )
        for k, c in enumerate(copies)
    ]
    models = apart
    if name in runtime.MERGEABLE:
        shared = SharedRun(runtime.open_merged_runner(name, copies, threads))
        models = [
            LoadedModel(k, f"defect {k}", k, 1, 0.5, 1, 0.5, meta, name, FusedChannel(shared, k))
            for k in range(len(copies))
        ]
    views = [
        (f"cam{k}", view.image)
        for k, view in enumerate(render_views(sample_straw(7), VIEWS, engine.size))
    ]
    fused_models, fused_runtime = _fused(fused, meta, threads)
    runs_before = fused_models[0].runner.shared.runs
    fused_ms = median_ms(lambda: inspection_engine.run(fused_models, views), repeats)
    ensemble_ms = median_ms(lambda: inspection_engine.run(models, views), repeats)
    apart_ms = median_ms(lambda: inspection_engine.run(apart, views), repeats)
    return {
        "object.ensemble_ms": ensemble_ms,
        "object.ensemble_merged": models is not apart,
        "object.ensemble_separate_ms": apart_ms,
        "object.fused_ms": fused_ms,
        # A station judges one object after another: its rate is the inverse of the latency.
        "object.ensemble_objects_per_s": 1000.0 / ensemble_ms,
        "object.fused_objects_per_s": 1000.0 / fused_ms,
        "object.fused_runtime": fused_runtime,
        # One network run per object, however many defect types: checked, not assumed.
        "object.fused_network_runs_per_object": (fused_models[0].runner.shared.runs - runs_before)
        / max(1, repeats + 1),
        "object.views": VIEWS,
        "object.models": len(copies),
    }


@dataclass
class Fused:
    """An untrained fused network (one output channel per defect type) at the line's size, on
    the single models' runtime: int8 where they run int8, calibrated on the same images, as
    a fused model's own gate chooses when int8 passes."""

    onnx: bytes
    int8: tuple[bytes, bytes] | None
    runtime: str

    def runner(self, threads: int) -> runtime.Runner:
        return runtime.open_runner(self.runtime, self.onnx, self.int8, threads)


def fused_network(model_config: ModelConfig, engine) -> Fused:
    model, _ = create_model(ModelConfig(**{**model_config.__dict__, "classes": MODELS}))
    onnx = export.to_onnx(model, engine.size)
    int8 = None
    if engine.runtime == runtime.OV_INT8:
        int8 = runtime_gate.quantize_int8(onnx, engine.calibration)
    return Fused(onnx, int8, engine.runtime)


def _fused(fused: Fused, meta, threads):
    shared = SharedRun(fused.runner(threads))
    name = fused.runtime
    models = [
        LoadedModel(k, f"defect {k}", None, 0, 0.5, 1, 0.5, meta, name, FusedChannel(shared, k), 1)
        for k in range(MODELS)
    ]
    return models, name
