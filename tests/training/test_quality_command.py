"""The quality command in a quick mode, so it cannot rot (its real run takes hours)."""

import json

import numpy as np
import pytest
from django.core.management import call_command

from tests.conftest import MAGNETIC_TILE, require_shared
from training.quality import simulated_consensus

pytestmark = pytest.mark.realdata


def test_simulated_consensus_is_soft_at_borders_and_certain_inside():
    mask = np.zeros((40, 40), np.uint8)
    mask[10:30, 10:30] = 255
    soft = simulated_consensus(mask, np.random.default_rng(0))
    assert soft[20, 20] == 255 and soft[0, 0] == 0
    assert ((soft > 0) & (soft < 255)).any()


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
    report = json.loads(out.read_text())
    assert {r["recipe"] for r in report["summary"]} == {"default", "plain", "soft"}
    for row in report["runs"]:
        assert 0.0 <= row["f1"] <= 1.0 and 0.0 <= row["iou"] <= 1.0 and row["epochs"] >= 1
