"""Defect prevalence on the line, and the model's figures re-weighted to it (no Django here).

Recall (TPR) and the false-positive rate (FPR) do not depend on how common defects are;
precision does. With TPR and FPR measured on the validation images and the line's
prevalence p (share of defective objects):

    reject rate          q   = TPR * p + FPR * (1 - p)
    precision (PPV)          = TPR * p / q
    NPV                      = (1 - FPR)(1 - p) / ((1 - FPR)(1 - p) + (1 - TPR) p)
    false-reject rate        = FPR * (1 - p)   good objects rejected, share of all objects
    escape rate              = (1 - TPR) * p   defective objects passed, share of all objects
    escapes among passed     = 1 - NPV
    F1                       = 2 PPV TPR / (PPV + TPR)

The line's prevalence comes from an audit sample that is not uniform: the review queue holds
every NG object and only a share of OK ones. Each stratum (the record's verdict) is estimated
on its own and weighted by how many objects of it the line made:

    p = sum_s N_s * (confirmed_s / decided_s) / sum_s N_s
"""

from __future__ import annotations


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def rates(counts: dict) -> dict:
    """TPR, FPR and prevalence of a confusion table {"tp", "fp", "fn", "tn"}."""
    tp, fp, fn, tn = (int(counts.get(k) or 0) for k in ("tp", "fp", "fn", "tn"))
    return {
        "tpr": _ratio(tp, tp + fn),
        "fpr": _ratio(fp, fp + tn),
        "prevalence": _ratio(tp + fn, tp + fp + fn + tn),
        "positives": tp + fn,
        "negatives": fp + tn,
    }


def at_prevalence(tpr: float | None, fpr: float | None, prevalence: float | None) -> dict | None:
    """The figures of a model with `tpr` and `fpr` on a line with `prevalence` (formulas in the
    module docstring); None when an input is unknown."""
    if tpr is None or fpr is None or prevalence is None:
        return None
    p = prevalence
    true_reject, false_reject = tpr * p, fpr * (1 - p)
    true_pass, escape = (1 - fpr) * (1 - p), (1 - tpr) * p
    precision = _ratio(true_reject, true_reject + false_reject)
    npv = _ratio(true_pass, true_pass + escape)
    f1 = (
        _ratio(2 * precision * tpr, precision + tpr)
        if precision is not None and precision + tpr
        else None
    )
    return {
        "prevalence": p,
        "precision": precision,
        "recall": tpr,
        "f1": f1,
        "reject_rate": true_reject + false_reject,
        "false_reject_rate": false_reject,
        "escape_rate": escape,
        "escapes_among_passed": None if npv is None else 1 - npv,
        "rejects_that_are_good": None if precision is None else 1 - precision,
    }


def stratified_share(strata: list[tuple[int, int, int]]) -> float | None:
    """The line's share of something (defects, errors) from a stratified sample.

    `strata`: per stratum (objects on the line, hits among the decided sample, decided sample
    size). None when a stratum with objects has no decided sample (it cannot be estimated) or
    when the line made nothing."""
    total = sum(n for n, _, _ in strata)
    if not total:
        return None
    share = 0.0
    for objects, hits, decided in strata:
        if not objects:
            continue
        if not decided:
            return None
        share += objects * hits / decided
    return share / total
