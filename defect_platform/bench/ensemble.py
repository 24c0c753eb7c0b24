"""One object through the engine: every view of a station judged by every defect model."""

from __future__ import annotations

from defect_platform.bench.timing import median_ms
from defect_platform.synthetic.straws import render_views, sample_straw
from inspection import engine as inspection_engine
from training.ml.meta import ModelMeta
from training.ml.model import ModelConfig
from training.registry import LoadedModel

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
    return {
        "object.ensemble_ms": median_ms(lambda: inspection_engine.run(models, views), repeats),
        "object.views": VIEWS,
        "object.models": MODELS,
    }
