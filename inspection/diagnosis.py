"""Human-level performance and which gap dominates, per defect type (no Django here).

Every error is a share (0..1) of images or objects judged wrongly:

- human error: each inspector against the others on the objects they judged. The reference is
  the supervisor's adjudication where there is one, else the majority of the *other*
  inspectors (leave one out); a comparison where either side is unsure is left out (the
  unsure share is reported as ambiguity). Pooled over inspectors: wrong / compared.
- training and validation error: the model version's stored image-level figures of each split,
  (fp + fn) / images.
- production error: the model against the inspectors' consensus per inspected object.

Image and object level differ: training and validation count images, production counts
objects, and an object is NG for a defect type when any of its views is. With k views a good
object has k chances of a false reject (about 1 - (1 - FPR)^k), so production error runs above
image-level error on a multi-view station even when the line looks like the training data.

The gaps (A. Ng, "Machine Learning Yearning", ch. 33-46):
  avoidable bias = training error - human error      -> improve the model
  variance       = validation error - training error -> more or better training data
  data mismatch  = production error - validation    -> label data that looks like production
and human disagreement = share of objects judged by two or more inspectors on which they did
not all say the same (unsure included)      -> tighten the labeling guide.
The largest gap of at least MIN_GAP wins, unless inspectors disagree on at least
MIN_DISAGREEMENT of their objects and on more than that gap: then the reference itself is too
noisy to read smaller gaps.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

PRESENT, ABSENT, UNSURE = "present", "absent", "unsure"
MIN_GAP = 0.02  # two percentage points
MIN_DISAGREEMENT = 0.10

ADVICE = {
    "avoidable_bias": "Improve the model: a larger encoder, longer training, a larger input "
    "size or a better decision rule; more data will not close this gap.",
    "variance": "Add more (or more varied) labelled training images, or regularise "
    "(augmentation, early stopping): the model does not generalise from its training images.",
    "data_mismatch": "Label images that look like production: send the disagreements below "
    "to labeling and retrain.",
    "human_disagreement": "Tighten the labeling guide (what counts as a defect, with example "
    "images), then have inspectors judge again: the reference is too noisy to tell more.",
    "near_human_level": "No gap dominates: the model is about as good as the inspectors on "
    "this data. Watch the trends.",
    "insufficient_data": "Collect what is missing first.",
}


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _points(x: float) -> str:
    return f"{100 * x:.1f} percentage points"


def _majority(decisions: list[str]) -> str:
    counts = Counter(decisions).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return UNSURE
    return counts[0][0]


def human_error(objects: list[tuple[dict[str, str], str | None]]) -> dict:
    """Inspectors against each other. `objects`: per object ({inspector: decision},
    adjudicated decision or None)."""
    per: dict[str, list[int]] = {}
    multi = disagreeing = 0
    for by, adjudicated in objects:
        if len(by) >= 2:
            multi += 1
            disagreeing += len(set(by.values())) > 1
        for name, own in by.items():
            others = [d for n, d in by.items() if n != name]
            reference = adjudicated or (_majority(others) if others else UNSURE)
            if UNSURE in (own, reference):
                continue
            seen = per.setdefault(name, [0, 0])
            seen[0] += 1
            seen[1] += own != reference
    compared = sum(c for c, _ in per.values())
    wrong = sum(w for _, w in per.values())
    rows = [
        {"inspector": name, "compared": c, "wrong": w, "error": w / c}
        for name, (c, w) in sorted(per.items())
    ]
    return {
        "error": wrong / compared if compared else None,
        "compared": compared,
        "best_error": min((r["error"] for r in rows), default=None),
        "inspectors": rows,
        "objects_with_several_inspectors": multi,
        "disagreeing_objects": disagreeing,
        "disagreement": disagreeing / multi if multi else None,
    }


def split_error(split: dict | None) -> float | None:
    """Image-level error of one stored split ({"image": {"tp", "fp", "fn", "tn"}})."""
    counts = (split or {}).get("image") or {}
    total = sum(int(counts.get(k) or 0) for k in ("tp", "fp", "fn", "tn"))
    if not total:
        return None
    return (int(counts.get("fp") or 0) + int(counts.get("fn") or 0)) / total


@dataclass(frozen=True)
class Errors:
    human: float | None
    disagreement: float | None
    training: float | None
    validation: float | None
    production: float | None


def _gap(high: float | None, low: float | None) -> float | None:
    return None if high is None or low is None else high - low


def diagnose(errors: Errors, min_gap: float = MIN_GAP, min_disagreement: float = MIN_DISAGREEMENT):
    """The dominant gap as {"outcome", "message", "advice", "gaps", "missing"}."""
    gaps = {
        "avoidable_bias": _gap(errors.training, errors.human),
        "variance": _gap(errors.validation, errors.training),
        "data_mismatch": _gap(errors.production, errors.validation),
    }
    missing = [
        text
        for value, text in (
            (errors.human, "human error (objects judged by two or more inspectors)"),
            (errors.training, "training error (a model version with stored training figures)"),
            (errors.validation, "validation error (a model version with a validation split)"),
            (errors.production, "production error (objects judged by inspectors)"),
        )
        if value is None
    ]
    known = {k: v for k, v in gaps.items() if v is not None}
    top = max(known, key=known.get) if known else None
    top_gap = known[top] if top else None
    disagreement = errors.disagreement
    if (
        disagreement is not None
        and disagreement >= min_disagreement
        and (top_gap is None or disagreement > top_gap)
    ):
        outcome = "human_disagreement"
    elif top_gap is not None and top_gap >= min_gap:
        outcome = top
    elif missing:
        outcome = "insufficient_data"
    else:
        outcome = "near_human_level"
    return {
        "outcome": outcome,
        "message": _message(outcome, errors, gaps, missing),
        "advice": ADVICE[outcome],
        "gaps": gaps | {"human_disagreement": disagreement},
        "thresholds": {"min_gap": min_gap, "min_disagreement": min_disagreement},
        "missing": missing,
    }


def _message(outcome: str, e: Errors, gaps: dict, missing: list[str]) -> str:
    if outcome == "avoidable_bias":
        return (
            f"Avoidable bias: the model gets {_pct(e.training)} of its training images wrong, "
            f"inspectors {_pct(e.human)} of their objects ({_points(gaps['avoidable_bias'])} "
            "above human level)."
        )
    if outcome == "variance":
        return (
            f"Variance: validation error {_pct(e.validation)} is {_points(gaps['variance'])} above "
            f"training error {_pct(e.training)}."
        )
    if outcome == "data_mismatch":
        return (
            f"Data mismatch: on the line the model disagrees with the inspectors on "
            f"{_pct(e.production)} of objects, {_points(gaps['data_mismatch'])} above its "
            f"validation error {_pct(e.validation)} (objects are NG when any view is, so "
            "part of this gap can come from several views per object)."
        )
    if outcome == "human_disagreement":
        return (
            f"Human disagreement: inspectors disagree on {_pct(e.disagreement)} of the objects "
            "that two or more of them judged."
        )
    if outcome == "insufficient_data":
        return "Not enough to tell which gap dominates; missing: " + "; ".join(missing) + "."
    parts = [f"{k.replace('_', ' ')} {_pct(v)}" for k, v in gaps.items() if v is not None]
    return "No gap reaches the threshold (" + ", ".join(parts) + ")."
