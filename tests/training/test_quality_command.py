"""The quality command in a quick mode, so it cannot rot (its real run takes hours)."""

import json

import numpy as np
import pytest
from django.core.management import call_command

from tests.conftest import MAGNETIC_TILE, require_shared
from training.quality import against_plain, simulated_consensus

pytestmark = pytest.mark.realdata


def test_simulated_consensus_is_soft_at_borders_and_certain_inside():
    mask = np.zeros((40, 40), np.uint8)
    mask[10:30, 10:30] = 255
    soft = simulated_consensus(mask, np.random.default_rng(0))
    assert soft[20, 20] == 255 and soft[0, 0] == 0
    assert ((soft > 0) & (soft < 255)).any()


def _row(recipe, f1, f1_sd, iou, iou_sd):
    return {"recipe": recipe, "f1_mean": f1, "f1_sd": f1_sd, "iou_mean": iou, "iou_sd": iou_sd}


def test_a_recipe_beats_plain_only_by_more_than_the_larger_spread_on_both_metrics():
    plain = _row("plain", 0.80, 0.05, 0.40, 0.02)
    rows = [
        _row("default", 0.90, 0.02, 0.46, 0.01),  # +0.10 > 0.05 and +0.06 > 0.02
        _row("soft", 0.90, 0.02, 0.41, 0.01),  # IoU +0.01, within plain's 0.02
        _row("average", 0.84, 0.06, 0.50, 0.01),  # F1 +0.04, within its own 0.06
        plain,
    ]
    verdicts = {v["recipe"]: v for v in against_plain(rows)}
    assert set(verdicts) == {"default", "soft", "average"}
    assert verdicts["default"]["beats_plain"]
    assert verdicts["default"]["f1_gain"] == pytest.approx(0.10)
    assert verdicts["default"]["iou_spread"] == pytest.approx(0.02)
    assert not verdicts["soft"]["beats_plain"]
    assert not verdicts["average"]["beats_plain"]
    assert verdicts["average"]["f1_spread"] == pytest.approx(0.06)
    assert against_plain(rows[:1]) == []


def test_the_quality_command_prints_a_table_and_writes_json(tmp_path, db, settings, capsys):
    data = require_shared(MAGNETIC_TILE)
    out = tmp_path / "quality.json"
    call_command(
        "training_quality",
        "--data",
        str(data),
        "--minutes",
        "0.02",
        "--seeds",
        "0",
        "--n-negatives",
        "12",
        "--size",
        "64",
        "64",
        "--out",
        str(out),
    )
    printed = capsys.readouterr().out
    assert "image F1" in printed and "plain" in printed and "soft" in printed
    assert "vs plain" in printed
    report = json.loads(out.read_text())
    assert {v["recipe"] for v in report["vs_plain"]} == {"default", "soft"}
    assert report["machine"]["cores"] >= 1 and "AVX-512" in printed
    assert {r["recipe"] for r in report["summary"]} == {"default", "plain", "soft"}
    for row in report["runs"]:
        assert 0.0 <= row["f1"] <= 1.0 and 0.0 <= row["iou"] <= 1.0 and row["epochs"] >= 1
