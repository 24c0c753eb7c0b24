"""A capture's views keep their own timestamps: views further apart than the station's skew
limit flag the capture, views within it do not."""

import time

import pytest

from defect_platform.synthetic import straws
from inspection import triggering
from inspection.capture import View
from inspection.models import InspectionRecord, Station

pytestmark = pytest.mark.django_db


def _views(offsets_ms: list[int], offline: str | None = None) -> list[View]:
    spec = straws.sample_straw(5)
    t0 = time.time()
    views = []
    for i, offset in enumerate(offsets_ms):
        image = straws.render_view(spec, camera_angle=i * 2.1, size=(64, 256)).image
        views.append(View(f"cam{i + 1}", i, image, t0 + offset / 1000, "online"))
    if offline:
        views.append(View(offline, len(views), None, None, "offline", "no fresh frame"))
    return views


def _judge(station, views) -> dict:
    record = triggering.judge_capture(
        None, station, [station.projects.get()], views, time.perf_counter()
    )
    return InspectionRecord.objects.get(pk=record.pk).result


def test_views_further_apart_than_the_skew_limit_flag_the_capture(trained_model):
    station = Station.objects.create(name="Skewed", max_skew_ms=100)
    station.projects.set([trained_model.project])

    skewed = _judge(station, _views([0, 60, 250]))
    assert skewed["quality_issues"]["capture"] == ["views 250 ms apart (the limit is 100 ms)"]
    assert skewed["verdict"] != "ok"  # a skewed capture may show two different objects

    within = _judge(station, _views([0, 40, 90]))
    assert "capture" not in within["quality_issues"]
    assert within["models"][0]["model_version"] == trained_model.pk

    # An offline camera has no timestamp: it is listed, and does not count as skew.
    partial = _judge(station, _views([0, 30], offline="cam3"))
    assert "capture" not in partial["quality_issues"]
    assert partial["quality_issues"]["cam3"] == ["camera offline: no fresh frame"]
