"""Human-level performance and the dominant gap: one constructed scenario per outcome, and
prevalence re-weighting against hand-computed numbers."""

import pytest

from inspection import diagnosis as dg
from inspection import prevalence as pv
from inspection.diagnosis import Errors


def test_human_error_compares_each_inspector_with_the_others_and_adjudications():
    objects = [
        ({"ann": "present", "bob": "present", "cy": "present"}, None),  # all agree
        ({"ann": "present", "bob": "present", "cy": "absent"}, None),  # cy against 2
        ({"ann": "present", "bob": "absent"}, "absent"),  # ann against the adjudication
        ({"ann": "unsure", "bob": "absent"}, None),  # unsure: no comparison, but disagreement
        ({"ann": "absent"}, None),  # alone: nothing to compare with
    ]
    human = dg.human_error(objects)
    rows = {r["inspector"]: (r["compared"], r["wrong"]) for r in human["inspectors"]}
    # Object 2: ann and bob each see a 1-1 tie among the others -> unsure, left out.
    assert rows == {"ann": (2, 1), "bob": (2, 0), "cy": (2, 1)}
    assert human["error"] == pytest.approx(2 / 6)
    assert human["best_error"] == 0.0
    assert human["objects_with_several_inspectors"] == 4
    assert human["disagreement"] == pytest.approx(3 / 4)


def test_human_error_without_several_inspectors_is_unknown_not_zero():
    human = dg.human_error([({"ann": "present"}, None)])
    assert human["error"] is None and human["disagreement"] is None
    assert dg.human_error([])["compared"] == 0


def test_split_error_reads_the_stored_image_counts():
    assert dg.split_error({"image": {"tp": 8, "fp": 1, "fn": 1, "tn": 10}}) == pytest.approx(0.1)
    assert dg.split_error({}) is None
    assert dg.split_error(None) is None
    assert dg.split_error({"image": {"tp": 0, "fp": 0, "fn": 0, "tn": 0}}) is None


def test_training_error_far_above_human_error_is_avoidable_bias():
    found = dg.diagnose(Errors(0.02, 0.04, 0.10, 0.11, 0.12))
    assert found["outcome"] == "avoidable_bias"
    assert found["gaps"]["avoidable_bias"] == pytest.approx(0.08)
    assert "10.0 %" in found["message"] and "2.0 %" in found["message"]
    assert "Improve the model" in found["advice"]


def test_validation_error_far_above_training_error_is_variance():
    found = dg.diagnose(Errors(0.02, 0.03, 0.025, 0.15, 0.16))
    assert found["outcome"] == "variance"
    assert found["gaps"]["variance"] == pytest.approx(0.125)
    assert "training images" in found["advice"]


def test_production_error_far_above_validation_error_is_data_mismatch():
    found = dg.diagnose(Errors(0.02, 0.03, 0.03, 0.04, 0.20))
    assert found["outcome"] == "data_mismatch"
    assert found["gaps"]["data_mismatch"] == pytest.approx(0.16)
    assert "20.0 %" in found["message"] and "look like production" in found["advice"]


def test_inspectors_disagreeing_more_than_any_gap_is_human_disagreement():
    found = dg.diagnose(Errors(0.12, 0.25, 0.14, 0.16, 0.19))
    assert found["outcome"] == "human_disagreement"
    assert "25.0 %" in found["message"] and "labeling guide" in found["advice"]
    # Below the disagreement threshold the largest model gap wins again.
    assert dg.diagnose(Errors(0.02, 0.08, 0.03, 0.04, 0.20))["outcome"] == "data_mismatch"


def test_small_gaps_are_near_human_level_and_missing_inputs_are_named():
    assert dg.diagnose(Errors(0.02, 0.03, 0.025, 0.03, 0.035))["outcome"] == "near_human_level"
    nothing = dg.diagnose(Errors(None, None, None, None, None))
    assert nothing["outcome"] == "insufficient_data"
    assert len(nothing["missing"]) == 4 and "missing" in nothing["message"]
    # A clear gap still shows with inputs missing, and says what is missing.
    partial = dg.diagnose(Errors(None, None, 0.01, 0.20, None))
    assert partial["outcome"] == "variance" and len(partial["missing"]) == 2


def test_prevalence_reweights_precision_and_the_per_object_rates():
    # TPR 0.9, FPR 0.05, 2 % defects: q = 0.018 + 0.049 = 0.067.
    at = pv.at_prevalence(0.9, 0.05, 0.02)
    assert at["precision"] == pytest.approx(0.018 / 0.067)
    assert at["recall"] == 0.9
    assert at["false_reject_rate"] == pytest.approx(0.049)
    assert at["escape_rate"] == pytest.approx(0.002)
    assert at["reject_rate"] == pytest.approx(0.067)
    assert at["escapes_among_passed"] == pytest.approx(1 - 0.931 / 0.933)
    assert at["f1"] == pytest.approx(0.036 / 0.087)  # 2TP / (2TP + FP + FN) per object
    assert pv.at_prevalence(None, 0.05, 0.02) is None


def test_reweighting_at_the_validation_prevalence_gives_back_the_measured_precision():
    r = pv.rates({"tp": 9, "fn": 1, "fp": 5, "tn": 95})
    assert (r["tpr"], r["fpr"], r["prevalence"]) == pytest.approx((0.9, 0.05, 10 / 110))
    assert pv.at_prevalence(r["tpr"], r["fpr"], r["prevalence"])["precision"] == pytest.approx(
        9 / 14
    )
    assert pv.rates({})["tpr"] is None  # no division by zero


def test_the_line_share_weights_each_sampling_stratum_by_its_size():
    # 900 OK objects (30 judged, 3 defective), 100 NG objects (all judged, 60 defective):
    # (900 * 0.1 + 100 * 0.6) / 1000 = 0.15, where the pooled sample would say 63/130.
    assert pv.stratified_share([(900, 3, 30), (100, 60, 100)]) == pytest.approx(0.15)
    assert pv.stratified_share([(900, 3, 30), (0, 0, 0)]) == pytest.approx(0.1)
    assert pv.stratified_share([(900, 0, 0), (100, 60, 100)]) is None  # OK never judged
    assert pv.stratified_share([]) is None
