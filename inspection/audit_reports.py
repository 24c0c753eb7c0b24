"""Audit figures over time: daily trends, and reports per shift and per lot.

Shifts are fixed 8-hour windows of local time (settings.TIME_ZONE): early 06:00-14:00, late
14:00-22:00 and night 22:00-06:00. A night shift belongs to the date it starts on, so objects
made at 02:00 count for the previous day's night shift. The platform has no shift calendar;
a plant with other hours changes SHIFTS.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from inspection import audit
from inspection.audit_metrics import ABSENT, PRESENT, UNSURE, inspector_pairs

# (name, start hour, end hour) in local time; the last one runs past midnight.
SHIFTS = (("early", 6, 14), ("late", 14, 22), ("night", 22, 6))

COLUMNS = [
    "group",
    "start",
    "objects",
    "ok",
    "ng",
    "not_inspectable",
    "ng_rate",
    "defect_ng",
    "defect_ng_rate",
    "judged",
    "confirmed_present",
    "escapes",
    "false_rejects",
    "unsure",
    "agreement",
]


def shift_of(moment: datetime) -> tuple[date, str, int, int]:
    """(shift date, name, start hour, end hour) of an aware moment, in local time."""
    local = timezone.localtime(moment)
    for name, start, end in SHIFTS[:-1]:
        if start <= local.hour < end:
            return local.date(), name, start, end
    name, start, end = SHIFTS[-1]
    day = local.date() if local.hour >= start else local.date() - timedelta(days=1)
    return day, name, start, end


@dataclass
class _Line:
    record_id: int
    captured_at: datetime
    verdict: str
    lot: str
    defect: bool


def _line(project, records) -> Iterator[_Line]:
    """Every object of `records` checked for `project`, with the model's verdict on it."""
    rows = (
        records.filter(projects=project)
        .order_by("captured_at", "pk")
        .values_list("pk", "captured_at", "verdict", "lot", "result")
    )
    for pk, captured_at, verdict, lot, result in rows.iterator(chunk_size=2000):
        defect = any(d.get("project") == project.pk for d in (result or {}).get("defects", []))
        yield _Line(pk, captured_at, verdict, lot, defect)


def _ratio(num, den):
    return num / den if den else None


def _figures(lines: list[_Line], judged: list[audit.Judged]) -> dict:
    decided = [o for o in judged if o.consensus != UNSURE]
    agree = sum(o.model == o.consensus for o in decided)
    ng = sum(x.verdict == "ng" for x in lines)
    defect = sum(x.defect for x in lines)
    return {
        "objects": len(lines),
        "ok": sum(x.verdict == "ok" for x in lines),
        "ng": ng,
        "not_inspectable": sum(x.verdict == "not_inspectable" for x in lines),
        "ng_rate": _ratio(ng, len(lines)),
        "defect_ng": defect,
        "defect_ng_rate": _ratio(defect, len(lines)),
        "judged": len(judged),
        "confirmed_present": sum(o.consensus == PRESENT for o in decided),
        "escapes": sum(o.model == ABSENT and o.consensus == PRESENT for o in decided),
        "false_rejects": sum(o.model == PRESENT and o.consensus == ABSENT for o in decided),
        "unsure": len(judged) - len(decided),
        "agreement": _ratio(agree, len(decided)),
    }


def daily_trends(project, records) -> dict:
    """Per local day: objects, the model's NG rate for the defect type, judged objects, the
    model's agreement with the consensus, the confirmed defect share among judged objects and
    inspector-vs-inspector agreement."""
    lines: dict[date, list[_Line]] = {}
    for line in _line(project, records):
        lines.setdefault(timezone.localdate(line.captured_at), []).append(line)
    judged: dict[date, list[audit.Judged]] = {}
    for o in audit.judged_objects(project, records):
        judged.setdefault(timezone.localdate(o.captured_at), []).append(o)
    days = []
    for day in sorted(set(lines) | set(judged)):
        figures = _figures(lines.get(day, []), judged.get(day, []))
        decided = figures["judged"] - figures["unsure"]
        pairs = inspector_pairs([o.by for o in judged.get(day, [])])["pairs"]
        compared = sum(p["objects"] for p in pairs)
        days.append(
            {
                "date": day.isoformat(),
                **figures,
                "confirmed_ng_rate": _ratio(figures["confirmed_present"], decided),
                "inspector_agreement": _ratio(
                    sum(p["agreement"] * p["objects"] for p in pairs), compared
                ),
            }
        )
    return {"project": project.pk, "defect_type": project.name, "days": days}


def grouped(project, records, by: str) -> dict:
    """Counts, NG rates, escapes found by inspectors (model OK, consensus present), false
    rejects and agreement per shift or per lot (`by`: "shift" or "lot")."""
    key = _shift_key if by == "shift" else _lot_key
    groups: dict[tuple, dict] = {}
    for line in _line(project, records):
        k, start = key(line.captured_at, line.lot)
        groups.setdefault(k, {"start": start, "lines": [], "judged": []})["lines"].append(line)
    for o in audit.judged_objects(project, records):
        k, start = key(o.captured_at, o.lot)
        groups.setdefault(k, {"start": start, "lines": [], "judged": []})["judged"].append(o)
    rows = []
    for k, group in sorted(groups.items(), key=lambda kv: (kv[1]["start"], kv[0])):
        rows.append(
            {
                "group": k[0],
                "start": group["start"].isoformat(),
                **_figures(group["lines"], group["judged"]),
            }
        )
    return {
        "project": project.pk,
        "defect_type": project.name,
        "by": by,
        "shifts": [{"name": n, "start": f"{s:02d}:00", "end": f"{e:02d}:00"} for n, s, e in SHIFTS],
        "time_zone": timezone.get_current_timezone_name(),
        "columns": COLUMNS,
        "rows": rows,
        "total": _figures(
            [x for g in groups.values() for x in g["lines"]],
            [o for g in groups.values() for o in g["judged"]],
        ),
    }


def _shift_key(moment: datetime, lot: str) -> tuple[tuple, datetime]:
    day, name, start, end = shift_of(moment)
    begins = datetime(day.year, day.month, day.day, start, tzinfo=timezone.get_current_timezone())
    return (f"{day.isoformat()} {name} {start:02d}:00-{end:02d}:00",), begins


def _lot_key(moment: datetime, lot: str) -> tuple[tuple, datetime]:
    # A lot starts with its first object; the key's start is overwritten only by the first.
    return (lot or "(no lot)",), moment
