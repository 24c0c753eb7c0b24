"""Losses, metrics and threshold choices against hand-computed cases."""

import numpy as np
import pytest
import torch

from training.ml import losses, metrics


def test_soft_loss_equals_weighted_bce_for_hard_labels():
    torch.manual_seed(0)
    logits = torch.randn(2, 1, 8, 8)
    target = (torch.rand(2, 1, 8, 8) > 0.7).float()
    soft = losses.soft_confidence_bce(logits, target, pos_weight=4.0)
    assert float(soft) == pytest.approx(float(losses.weighted_bce(logits, target, 4.0)), rel=1e-6)


def test_soft_loss_ignores_labels_of_exactly_one_half():
    logits = torch.tensor([[[[5.0, -3.0]]]])
    target = torch.tensor([[[[0.5, 0.0]]]])
    changed = torch.tensor([[[[-9.0, -3.0]]]])  # a wildly different guess on the 0.5 pixel
    assert float(losses.soft_confidence_bce(logits, target, 1.0)) == pytest.approx(
        float(losses.soft_confidence_bce(changed, target, 1.0))
    )
    # weights: |2y - 1| -> 0 at 0.5, 0.6 at 0.8, 1 at 0 or 1
    w = losses.confidence_weights(torch.tensor([0.0, 0.5, 0.8, 1.0]))
    assert torch.allclose(w, torch.tensor([1.0, 0.0, 0.6, 1.0]))


def test_soft_loss_weighs_a_pixel_by_label_confidence():
    logits = torch.zeros(1, 1, 1, 2)
    target = torch.tensor([[[[1.0, 0.75]]]])
    # BCE at p = 0.5 is log 2 whatever the target; weights 1 and 0.5 -> weighted mean log 2
    assert float(losses.soft_confidence_bce(logits, target, 1.0)) == pytest.approx(np.log(2))
    lopsided = torch.tensor([[[[4.0, 0.0]]]])
    expected = (1.0 * np.log1p(np.exp(-4.0)) + 0.5 * np.log(2)) / 1.5
    assert float(losses.soft_confidence_bce(lopsided, target, 1.0)) == pytest.approx(expected)


def test_focal_loss_down_weights_easy_pixels():
    target = torch.ones(1, 1, 1, 1)
    easy, hard = torch.full_like(target, 4.0), torch.full_like(target, -4.0)
    assert float(losses.focal(easy, target)) < 0.01 * float(losses.focal(hard, target))


def test_make_loss_sums_parts_and_rejects_unknown_names():
    logits, target = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    combined = losses.make_loss("bce+dice", 2.0)(logits, target)
    parts = losses.weighted_bce(logits, target, 2.0) + losses.soft_dice(logits, target)
    assert float(combined) == pytest.approx(float(parts))
    with pytest.raises(ValueError, match="unknown loss"):
        losses.make_loss("bce+magic", 1.0)


def test_undisputed_pixel_scores_leave_out_soft_pixels():
    prob = np.array([0.9, 0.9, 0.1, 0.9])
    target = np.array([1.0, 0.5, 0.0, 0.0])
    report = metrics.pixel_report([prob], [target], 0.5)
    assert report["disputed_fraction"] == 0.25
    assert report["all"]["iou"] == pytest.approx(2 / 3)  # 0.5 counts as defect: tp 2, fp 1
    assert report["undisputed"]["iou"] == pytest.approx(1 / 2)  # tp 1, fp 1


def test_image_scores_are_the_kth_largest_probability():
    prob = np.array([[0.9, 0.2], [0.7, 0.4]])
    assert list(metrics.image_scores(prob, [1, 2, 3, 4])) == pytest.approx([0.9, 0.7, 0.4, 0.2])
    # A min area larger than the image: no threshold makes it defective.
    assert metrics.image_scores(prob, [5, 10]).tolist() == [0.0, 0.0]


def test_auroc_and_pr_curve_on_a_hand_computed_case():
    scores = [0.9, 0.8, 0.3, 0.1]
    actual = [True, False, True, False]
    # positives 0.9, 0.3; negatives 0.8, 0.1: pairs won 0.9>0.8, 0.9>0.1, 0.3>0.1 -> 3/4
    assert metrics.auroc(scores, actual) == pytest.approx(0.75)
    curve = metrics.pr_curve(scores, actual)
    assert [(p["precision"], p["recall"]) for p in curve][:2] == [(1.0, 0.5), (0.5, 0.5)]
    assert metrics.auroc([0.5], [True]) is None


def _blob_images(n_pos=6, n_neg=6, size=32, seed=0):
    rng = np.random.default_rng(seed)
    probs, actual = [], []
    for i in range(n_pos + n_neg):
        p = rng.uniform(0, 0.3, (size, size))
        if i < n_pos:
            p[8:14, 8:14] = rng.uniform(0.6, 0.95)  # a 36-pixel defect
        else:
            p[rng.integers(0, size), rng.integers(0, size)] = 0.9  # one noisy pixel
        probs.append(p)
        actual.append(i < n_pos)
    return probs, actual


def test_decision_rule_needs_area_to_ignore_single_noisy_pixels():
    probs, actual = _blob_images()
    rule = metrics.choose_decision_rule(probs, actual)
    assert rule.score == pytest.approx(1.0)
    assert 2 <= rule.min_area <= 36 and 0.3 <= rule.threshold <= 0.6
    predicted = [metrics.image_scores(p, [rule.min_area])[0] >= rule.threshold for p in probs]
    assert predicted == actual


def test_decision_rule_widens_its_grid_instead_of_stopping_at_the_edge():
    probs, actual = _blob_images()
    probs = [p * 0.05 for p in probs]  # every probability below the grid's lowest threshold
    rule = metrics.choose_decision_rule(probs, actual)
    assert rule.threshold < 0.05 and rule.score == pytest.approx(1.0)


def test_a_cost_ratio_trades_false_rejects_for_escapes():
    probs, actual = _blob_images()
    probs[0][8:14, 8:14] = 0.35  # a faint defect, below the negatives' noisy pixel
    by_f1 = metrics.choose_decision_rule(probs, actual)
    by_cost = metrics.choose_decision_rule(probs, actual, cost_ratio=1000.0)
    caught = metrics.image_scores(probs[0], [by_cost.min_area])[0] >= by_cost.threshold
    assert caught and by_cost.objective == "cost" and by_f1.objective == "f1"


def test_pixel_threshold_is_chosen_for_masks_separately():
    target = np.zeros((20, 20))
    target[5:15, 5:15] = 1
    prob = np.where(target > 0, 0.55, 0.45) + 0.0
    assert 0.45 < metrics.choose_pixel_threshold([prob], [target]) <= 0.55


@pytest.mark.parametrize(("inside", "outside"), [(0.03, 0.01), (0.99, 0.93)])
def test_pixel_threshold_leaves_the_grid_when_the_model_is_too_timid_or_too_sure(inside, outside):
    target = np.zeros((20, 20))
    target[5:15, 5:15] = 1
    prob = np.where(target > 0, inside, outside) + 0.0
    chosen = metrics.choose_pixel_threshold([prob], [target])
    assert outside < chosen <= inside
    assert metrics.THRESHOLDS[0] != chosen != metrics.THRESHOLDS[-1]
    assert metrics.pixel_scores(prob, target, chosen)["iou"] == 1.0
