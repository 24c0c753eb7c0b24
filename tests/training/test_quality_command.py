"""The quality command in a quick mode, so it cannot rot (its real run takes hours)."""

import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

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


def _report(path, machine, *runs):
    rows = [
        {"recipe": r, "seed": s, "f1": f1, "iou": iou, "epochs": 30, "minutes": 15.5}
        for r, s, f1, iou in runs
    ]
    path.write_text(json.dumps({"machine": machine, "runs": rows}))
    return str(path)


def test_reports_of_runs_made_side_by_side_combine_into_one_table(tmp_path, capsys):
    machine = {
        "cpu": "AMD EPYC",
        "cores": 2,
        "avx512": True,
        "amx": False,
        "bf16_trains_faster": False,
    }
    a = _report(tmp_path / "a.json", machine, ("default", 0, 0.9, 0.4), ("default", 1, 0.8, 0.3))
    # Timed at start-up, so it may differ between two processes on one machine.
    b = _report(
        tmp_path / "b.json",
        {**machine, "bf16_trains_faster": True},
        ("plain", 0, 0.7, 0.2),
        ("plain", 1, 0.7, 0.2),
    )
    out = tmp_path / "all.json"
    call_command("training_quality", "--combine", a, b, "--out", str(out))
    report = json.loads(out.read_text())
    assert {(r["recipe"], r["seed"]) for r in report["runs"]} == {
        ("default", 0),
        ("default", 1),
        ("plain", 0),
        ("plain", 1),
    }
    default = next(r for r in report["summary"] if r["recipe"] == "default")
    assert default["f1_mean"] == pytest.approx(0.85) and default["f1_sd"] == pytest.approx(0.05)
    (verdict,) = report["vs_plain"]
    assert verdict["f1_gain"] == pytest.approx(0.15) and verdict["beats_plain"]
    assert "beats plain" in capsys.readouterr().out


def test_combining_refuses_other_machines_runs_twice_and_files_that_are_not_reports(tmp_path):
    machine = {"cpu": "AMD EPYC", "cores": 2}
    a = _report(tmp_path / "a.json", machine, ("default", 0, 0.9, 0.4))
    other = _report(tmp_path / "b.json", {**machine, "cores": 4}, ("plain", 0, 0.7, 0.2))
    again = _report(tmp_path / "c.json", machine, ("default", 0, 0.5, 0.1))
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    out = tmp_path / "all.json"
    for paths, message in (
        ([a, other], "different machines"),
        ([a, again], "default seed 0 is in two reports"),
        ([a, str(junk)], "not a report of this command"),
    ):
        with pytest.raises(CommandError, match=message):
            call_command("training_quality", "--combine", *paths, "--out", str(out))
    assert not out.exists()
