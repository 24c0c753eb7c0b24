"""Live verdicts: the station's continuous captures judged by its projects' models.

Frames go to browsers at the camera rate whatever the models cost; the judge takes the newest
capture each time it is free (newest capture wins), so verdicts never fall behind the line
either. Each judged capture becomes an InspectionRecord like a triggered one.

Runs in a worker thread of the station runner (Django ORM, blocking inference).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.db import close_old_connections
from django.db.models import Count
from django.utils import timezone

from inspection import services, triggering
from inspection.models import InspectionRecord, Station

log = logging.getLogger(__name__)
# How often the judge looks for newly promoted model versions.
RELOAD_S = 15.0


@dataclass
class _Loaded:
    projects: list
    models: list
    shadows: list
    unjudged: list[str]
    at: float


@dataclass
class LiveJudge:
    station_id: int
    loaded: _Loaded | None = None
    counts: dict = field(default_factory=dict)
    day: object = None

    def _load(self) -> tuple[Station, _Loaded]:
        station = Station.objects.get(pk=self.station_id)
        if self.loaded and time.monotonic() - self.loaded.at < RELOAD_S:
            return station, self.loaded
        every = list(station.projects.order_by("pk"))
        serving = services.serving_models(station, every)
        judged = {m.project_id for m in serving.models}
        projects = [p for p in every if p.pk in judged]
        shadows = services.shadow_models(projects)
        self.loaded = _Loaded(
            projects, serving.models, shadows, serving.unjudged + serving.notes, time.monotonic()
        )
        return station, self.loaded

    def _today(self, station) -> dict:
        today = timezone.localdate()
        if self.day != today:
            self.day = today
            rows = (
                InspectionRecord.objects.filter(station=station, created_at__date=today)
                .values("verdict")
                .annotate(n=Count("pk"))
            )
            self.counts = {"ok": 0, "ng": 0, "not_inspectable": 0}
            self.counts |= {r["verdict"]: r["n"] for r in rows}
        return self.counts

    def judge(self, seq: int, views) -> dict:
        """One capture's verdict message: the record's verdict JSON, or why there is none."""
        close_old_connections()
        started = time.perf_counter()
        station, loaded = self._load()
        if not station.judge_live:
            return {"seq": seq, "judging": "off", "reason": "live judging is off for the station"}
        if not loaded.models:
            reason = "; ".join(loaded.unjudged) or "the station checks no defect project"
            return {"seq": seq, "judging": "off", "reason": reason}
        counts = self._today(station)
        record = triggering.judge_capture(
            None,
            station,
            loaded.projects,
            views,
            started,
            models=loaded.models,
            shadows=loaded.shadows,
        )
        counts[record.verdict] = counts.get(record.verdict, 0) + 1
        return {
            "seq": seq,
            "judging": "on",
            "record": record.pk,
            "verdict": record.result,
            "unjudged": loaded.unjudged,
            "counts": dict(counts),
            "alert": {"window": station.ng_alert_window, "factor": station.ng_alert_factor},
        }
