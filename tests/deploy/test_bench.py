"""`manage.py bench` in quick mode: every figure the performance goals name is measured."""

import io
import json

import pytest
from django.core.management import call_command

from defect_platform.bench.inspect_load import P99_LIMIT_MS, Step, choose, doubling
from defect_platform.bench.live_load import Viewer
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
    "load.live.max_gap_ms",
    "load.live.every_second_share",
    "load.inspect_rps",
    "load.inspect_p99_ms",
    "object.ensemble_objects_per_s",
    "live.objects_per_s",
    "training.cpu_fp32_channels_last_step_s",
    "annotation.import_images_per_s",
    "memory.serving_rss_mb_6_models_separate",
    "object.ensemble_separate_ms",
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
    # Six models are merged into one network as a station serves them, where the runtime can.
    mergeable = figures["inference.engine_runtime"] in runtime.MERGEABLE
    assert figures["object.ensemble_merged"] is figures["memory.serving_6_models_merged"]
    assert figures["object.ensemble_merged"] is mergeable
    # One fused network run per object stands for the six defect models.
    assert figures["object.fused_network_runs_per_object"] == 1.0
    assert figures["live.frames_per_client_s"] > 0 and figures["live.clients"] == 10
    assert figures["annotation.save_masks"] == "soft"
    # 50 clients on one live page: fresh frames, and every client received them throughout.
    assert figures["load.live.clients"] == 50
    assert figures["load.live.latency_p95_ms"] < 1000
    gaps = figures["load.live.client_max_gaps_ms"]
    assert len(gaps) == 50 and max(gaps) == figures["load.live.max_gap_ms"] < 3000, gaps
    # The inspect API: a ramp of clients, then the chosen level held with no error at all.
    ramp = figures["load.inspect_ramp"]
    assert [step["clients"] for step in ramp] == doubling(8)[: len(ramp)]
    chosen = next(step for step in ramp if step["clients"] == figures["load.inspect_clients"])
    assert chosen["errors"] == 0
    assert figures["load.inspect_errors"] == 0.0, figures.get("load.inspect_first_error")
    assert figures["load.inspect_seconds"] >= 4.0
    assert figures["machine"]["cores"] >= 1 and figures["machine"]["runtimes"]
    assert isinstance(figures["machine"]["bf16_trains_faster"], bool)


def test_the_full_benchmark_names_the_missing_data_instead_of_failing_later(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="magnetic-tile"):
        call_command("bench", "--data", str(tmp_path), "--out", str(tmp_path / "b.json"))


def _step(clients: int, answers: int, errors: int = 0, latency_ms: float = 10.0) -> Step:
    return Step(clients, 1.0, [latency_ms] * answers, ["500"] * errors)


def test_the_ramp_keeps_the_fastest_level_before_errors_and_ignores_noise():
    # 4 clients are within 5 % of 2: the same rate with more queueing, so 2 is kept.
    assert choose([_step(1, 10), _step(2, 18), _step(4, 18)]).clients == 2
    assert choose([_step(1, 10), _step(2, 18), _step(4, 30)]).clients == 4
    # A faster level with errors does not count, nor anything after it.
    assert choose([_step(1, 10), _step(2, 18), _step(4, 30, errors=1), _step(8, 40)]).clients == 2
    assert choose([_step(1, 10, errors=1)]) is None
    # The knee: 8 clients gain 6 % over 4, yet 4 already reach 90 % of that rate.
    assert choose([_step(1, 10), _step(4, 30), _step(8, 32)]).clients == 4
    # A level whose p99 no caller would wait for ends the ramp like an error.
    slow = _step(8, 60, latency_ms=P99_LIMIT_MS + 1)
    assert choose([_step(1, 10), _step(4, 30), slow]).clients == 4
    assert doubling(8) == [1, 2, 4, 8] and doubling(64)[-1] == 64


def test_a_viewer_s_gaps_run_from_the_window_s_start_to_its_end():
    viewer = Viewer(arrivals=[10.2, 10.9, 12.4])
    # Window 10..13: waits of 0.2, 0.7, 1.5 and 0.6 s; the second 11..12 saw no frame.
    assert viewer.max_gap_s(10.0, 13.0) == pytest.approx(1.5)
    assert not viewer.every_second(10.0, 13.0)
    assert Viewer(arrivals=[10.5, 11.5, 12.5]).every_second(10.0, 13.0)
    assert Viewer().max_gap_s(10.0, 13.0) == pytest.approx(3.0)
