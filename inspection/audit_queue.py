"""What to judge next: the inspectors' review queue and the supervisors' ties.

The review queue holds every NG object and a stable sample of OK ones (the project's
`audit_ok_sample`). One inspector's judgement takes an object off everyone's queue, except for
a second stable sample (`audit_double_sample`) that several different inspectors judge (the
project's `audit_double_inspectors`, two or more), so inspector-vs-inspector agreement gets
measured without judging everything several times. Where they split evenly the consensus is a
tie, which waits in the supervisors' queue (`ties`) until one adjudicates.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from itertools import islice

from defect_platform.core.access import can
from inspection import audit, audit_metrics
from inspection.models import InspectionRecord, InspectorDecision

CHUNK = 500
MAX_TIES = 100


def sampled(record_id: int, share: float, salt: str = "audit") -> bool:
    """A stable draw from the record's id, so every inspector and every page load sees the
    same sample. Each `salt` draws independently: being in the OK sample says nothing about
    being in the double-inspection sample."""
    digest = hashlib.sha256(f"{salt}-{record_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def double_sampled(record_id: int, share: float) -> bool:
    """Whether several different inspectors should judge the record."""
    return sampled(record_id, share, salt="double")


@dataclass(frozen=True)
class QueueItem:
    record: InspectionRecord
    double_inspection: bool
    judgements: int  # distinct inspectors who judged it so far (adjudications left out)
    judgements_needed: int


def _judges(record_ids: list[int]) -> tuple[dict[tuple[int, int], set[int]], set]:
    """({(record, project): inspectors who judged it}, {(record, project) adjudicated})."""
    judges: dict[tuple[int, int], set[int]] = {}
    settled = set()
    rows = InspectorDecision.objects.filter(record_id__in=record_ids).values_list(
        "record_id", "project_id", "inspector_id", "adjudication"
    )
    for record_id, project_id, inspector_id, adjudication in rows:
        if adjudication:
            settled.add((record_id, project_id))
        else:
            judges.setdefault((record_id, project_id), set()).add(inspector_id)
    return judges, settled


def _wanted(user, record, judges, settled) -> QueueItem | None:
    """The record as a queue item if one of its defect types the user may judge still needs
    a judgement, else None."""
    needed, inspectors = 0, set()
    for project in record.projects.all():
        key = (record.pk, project.pk)
        if key in settled or not can(user, project, "decide"):
            continue
        if record.verdict == "ok" and not sampled(record.pk, project.audit_ok_sample):
            continue
        double = double_sampled(record.pk, project.audit_double_sample)
        want = project.audit_double_inspectors if double else 1
        done = judges.get(key, set())
        if len(done) < want:
            needed = max(needed, want)
            inspectors |= done
    if not needed:
        return None
    return QueueItem(record, needed > 1, len(inspectors), needed)


def review_queue(user, records, limit: int = 50) -> list[QueueItem]:
    """Every NG and the sampled OK records the user may judge, has not judged, and that still
    need a judgement (one inspector's, or `audit_double_inspectors` different inspectors' in
    the double sample; adjudicated ones are settled), newest first."""
    decided = InspectorDecision.objects.filter(inspector=user).values("record_id")
    candidates = (
        records.exclude(pk__in=decided)
        .prefetch_related("projects")
        .order_by("-pk")
        .iterator(chunk_size=CHUNK)
    )
    out: list[QueueItem] = []
    while len(out) < limit:
        chunk = list(islice(candidates, CHUNK))
        if not chunk:
            break
        judges, settled = _judges([r.pk for r in chunk])
        for record in chunk:
            item = _wanted(user, record, judges, settled)
            if item is not None:
                out.append(item)
                if len(out) >= limit:
                    break
    return out


def ties(project, records) -> dict:
    """Objects of `records` whose inspectors tie on `project`'s defect type and that no
    supervisor has adjudicated, newest first (the first MAX_TIES of them)."""
    found = [
        o
        for o in audit.judged_objects(project, records)
        if o.adjudicated is None and audit_metrics.is_tie(list(o.by.values()))
    ]
    found.sort(key=lambda o: (o.captured_at, o.record_id), reverse=True)
    results = []
    for o in found[:MAX_TIES]:
        counts = Counter(o.by.values())
        results.append(
            {
                "record": o.record_id,
                "captured_at": o.captured_at.isoformat(),
                "station": o.station_id,
                "lot": o.lot,
                "verdict": o.verdict,
                "model": o.model,
                "decisions": o.by,
                "counts": {c: counts.get(c, 0) for c in audit_metrics.CHOICES},
            }
        )
    return {
        "project": project.pk,
        "defect_type": project.name,
        "total": len(found),
        "results": results,
    }
