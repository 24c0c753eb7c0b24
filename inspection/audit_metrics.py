"""Model against inspectors, inspectors against each other (no Django here).

Decisions per object and defect type are "present", "absent" or "unsure". The inspector
consensus of an object is the majority of its inspectors' decisions; a tie is "unsure" until a
supervisor adjudicates. Agreement figures count only objects where both sides took a side
("unsure" is reported separately: metrics with and without the ambiguous objects).
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations

PRESENT, ABSENT, UNSURE = "present", "absent", "unsure"
CHOICES = (PRESENT, ABSENT, UNSURE)


def is_tie(decisions: list[str]) -> bool:
    """Whether the two most frequent decisions are equally frequent (1-1, 2-2, 1-1-1...)."""
    counts = Counter(decisions).most_common(2)
    return len(counts) == 2 and counts[0][1] == counts[1][1]


def consensus(decisions: list[str], adjudicated: str | None = None) -> str:
    """Majority of the decisions; a tie (or no decision) is unsure unless adjudicated."""
    if adjudicated:
        return adjudicated
    if not decisions or is_tie(decisions):
        return UNSURE
    return Counter(decisions).most_common(1)[0][0]


def confusion(model: list[bool], truth: list[str]) -> dict:
    """Model verdicts (True: defect) against consensus decisions, unsure left out."""
    tp = fp = fn = tn = 0
    for predicted, actual in zip(model, truth, strict=True):
        if actual == UNSURE:
            continue
        present = actual == PRESENT
        tp += predicted and present
        fp += predicted and not present
        fn += (not predicted) and present
        tn += (not predicted) and not present
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn}


def precision_recall(c: dict) -> dict:
    def ratio(num, den):
        return num / den if den else None

    precision = ratio(c["tp"], c["tp"] + c["fp"])
    recall = ratio(c["tp"], c["tp"] + c["fn"])
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    total = c["tp"] + c["fp"] + c["fn"] + c["tn"]
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "agreement": ratio(c["tp"] + c["tn"], total),
        "objects": total,
    }


def cohen_kappa(a: list[str], b: list[str]) -> float | None:
    """Cohen's kappa of two raters over the items both rated (categories as given)."""
    pairs = list(zip(a, b, strict=True))
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(x == y for x, y in pairs) / n
    ca, cb = Counter(x for x, _ in pairs), Counter(y for _, y in pairs)
    expected = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


def fleiss_kappa(ratings: list[list[str]]) -> float | None:
    """Fleiss' kappa for items rated by the same number (>= 2) of raters each; items with
    another count are left out by the caller."""
    items = [r for r in ratings if len(r) >= 2]
    if not items:
        return None
    m = len(items[0])
    if any(len(r) != m for r in items):
        raise ValueError("Fleiss' kappa needs the same number of raters per item")
    categories = sorted({c for r in items for c in r})
    n = len(items)
    counts = [[r.count(c) for c in categories] for r in items]
    p_j = [sum(row[j] for row in counts) / (n * m) for j in range(len(categories))]
    p_i = [(sum(x * x for x in row) - m) / (m * (m - 1)) for row in counts]
    p_bar, p_e = sum(p_i) / n, sum(p * p for p in p_j)
    if p_e >= 1.0:
        return None
    return (p_bar - p_e) / (1 - p_e)


def inspector_pairs(by_object: list[dict[str, str]]) -> dict:
    """Pairwise agreement between inspectors over objects both judged (unsure included as a
    category: disagreeing on whether an object can be judged is disagreement)."""
    pairs: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for decisions in by_object:
        for a, b in combinations(sorted(decisions), 2):
            left, right = pairs.setdefault((a, b), ([], []))
            left.append(decisions[a])
            right.append(decisions[b])
    rows = []
    for (a, b), (left, right) in sorted(pairs.items()):
        agree = sum(x == y for x, y in zip(left, right, strict=True)) / len(left)
        rows.append(
            {
                "a": a,
                "b": b,
                "objects": len(left),
                "agreement": agree,
                "kappa": cohen_kappa(left, right),
            }
        )
    return {"pairs": rows}
