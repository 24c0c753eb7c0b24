"""`manage.py bench` in quick mode: every figure the performance goals name is measured."""

import io
import json

import pytest
from django.core.management import call_command

from training.ml import runtime

REQUIRED = [
    "inference.torch_eager_fp32_ms",
    "inference.engine_ms",
    "inference.speedup_vs_torch",
    "inference.verdict_agreement",
    "inference.accuracy_delta_iou_pp",
    "memory.serving_rss_mb_1_model",
    "memory.serving_rss_mb_6_models",
    "object.ensemble_ms",
    "object.fused_ms",
    "memory.serving_rss_mb_fused",
    "editor.frame_ms_p95",
    "annotation.save_ms_256x1248",
    "annotation.save_ms_4096",
    "training.cpu_fp32_step_s",
    "training.cpu_fast_step_s",
    "live.latency_p50_ms",
    "live.latency_p95_ms",
    "api.inspect_rps",
    "api.inspect_p95_ms",
    "load.live.latency_p95_ms",
    "load.inspect_rps",
    "load.inspect_p99_ms",
    "object.ensemble_objects_per_s",
    "annotation.import_images_per_s",
]


@pytest.mark.django_db
def test_the_quick_benchmark_measures_every_figure_and_writes_json(tmp_path):
    out = io.StringIO()
    call_command("bench", "--quick", "--out", str(tmp_path / "bench.json"), stdout=out)
    figures = json.loads((tmp_path / "bench.json").read_text())
    for key in REQUIRED:
        assert isinstance(figures[key], float), key
        assert key in out.getvalue()
    for key in REQUIRED:
        if key.endswith(("_ms", "_s", "_rps", "_mb_1_model", "_mb_6_models", "_fused", "_per_s")):
            assert figures[key] > 0, key
    assert figures["inference.engine_runtime"] in runtime.PREFERENCE
    assert figures["inference.speedup_vs_torch"] == pytest.approx(
        figures["inference.torch_eager_fp32_ms"] / figures["inference.engine_ms"]
    )
    assert 0.0 <= figures["inference.verdict_agreement"] <= 1.0
    # Six models cost more than one: the probe really loads them.
    assert figures["memory.serving_rss_mb_6_models"] > figures["memory.serving_rss_mb_1_model"]
    assert figures["memory.serving_imports_torch"] is False
    # One fused network run per object stands for the six defect models.
    assert figures["object.fused_network_runs_per_object"] == 1.0
    assert figures["live.frames_per_client_s"] > 0 and figures["live.clients"] == 10
    # Under load every one of 50 clients kept receiving frames, and no inspect call failed.
    assert figures["load.live.clients"] == 50 and figures["load.live.slowest_client_share"] > 0
    assert figures["load.inspect_errors"] == 0.0, figures.get("load.inspect_first_error")
    assert figures["machine"]["cores"] >= 1 and figures["machine"]["runtimes"]


def test_the_full_benchmark_names_the_missing_data_instead_of_failing_later(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="magnetic-tile"):
        call_command("bench", "--data", str(tmp_path), "--out", str(tmp_path / "b.json"))
