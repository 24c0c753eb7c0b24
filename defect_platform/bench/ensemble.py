"""One object through the engine: every view of a station judged by every defect model."""

from __future__ import annotations

from defect_platform.bench.timing import median_ms
from defect_platform.synthetic.straws import render_views, sample_straw
from inspection import engine as inspection_engine
from training.ml import export, runtime
from training.ml.meta import ModelMeta
from training.ml.model import ModelConfig, create_model
from training.registry import FusedChannel, LoadedModel, SharedRun

VIEWS = 6
MODELS = 6


def measure(engine, model_config: ModelConfig, threads: int, repeats: int) -> dict:
    """Copies of one architecture stand in for the six defect models: the cost does not depend
    on the weights."""
    meta = ModelMeta(model_config, engine.size, 0.5, 1, 0.5, "resize")
    models = [
        LoadedModel(
            k, f"defect {k}", k, 1, 0.5, 1, 0.5, meta, engine.runtime, engine.runner(threads)
        )
        for k in range(MODELS)
    ]
    views = [
        (f"cam{k}", view.image)
        for k, view in enumerate(render_views(sample_straw(7), VIEWS, engine.size))
    ]
    fused_models, fused_runtime = _fused(engine, model_config, meta, threads)
    runs_before = fused_models[0].runner.shared.runs
    fused_ms = median_ms(lambda: inspection_engine.run(fused_models, views), repeats)
    ensemble_ms = median_ms(lambda: inspection_engine.run(models, views), repeats)
    return {
        "object.ensemble_ms": ensemble_ms,
        "object.fused_ms": fused_ms,
        # A station judges one object after another: its rate is the inverse of the latency.
        "object.ensemble_objects_per_s": 1000.0 / ensemble_ms,
        "object.fused_objects_per_s": 1000.0 / fused_ms,
        "object.fused_runtime": fused_runtime,
        # One network run per object, however many defect types: checked, not assumed.
        "object.fused_network_runs_per_object": (fused_models[0].runner.shared.runs - runs_before)
        / max(1, repeats + 1),
        "object.views": VIEWS,
        "object.models": MODELS,
    }


def fused_onnx(model_config: ModelConfig, size) -> bytes:
    """An untrained fused network (one output channel per defect type) at the line's size."""
    model, _ = create_model(ModelConfig(**{**model_config.__dict__, "classes": MODELS}))
    return export.to_onnx(model, size)


def fused_runtime(engine) -> str:
    """No int8 for fused models (see runtime_gate.gate_channels): bf16 where the CPU has it."""
    here = runtime.available()
    if engine.runtime != runtime.OV_INT8:
        return engine.runtime
    return runtime.OV_BF16 if runtime.OV_BF16 in here else runtime.OV_FP32


def _fused(engine, model_config, meta, threads):
    name = fused_runtime(engine)
    shared = SharedRun(
        runtime.open_runner(name, fused_onnx(model_config, engine.size), None, threads)
    )
    models = [
        LoadedModel(k, f"defect {k}", None, 0, 0.5, 1, 0.5, meta, name, FusedChannel(shared, k), 1)
        for k in range(MODELS)
    ]
    return models, name
