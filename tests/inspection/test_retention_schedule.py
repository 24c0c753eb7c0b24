"""The retention policy end to end: objects judged by the real engine keep every NG image
and a sample of OK ones; Celery beat's scheduled task, run by a real worker, then holds the
images under the disk cap, removing the files and keeping every verdict row."""

import sys
import time
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from inspection import retention, services
from inspection.models import InspectionRecord, RecordView, Station
from tests.processes import Process, service_env, start_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
CAP_MB = 1
OK_SHARE = 0.5


def _judge(station, project, seed: int):
    # Noise compresses badly: each view JPEG is a few hundred kB, so a dozen pass the cap.
    image = np.random.default_rng(seed).integers(0, 255, (256, 1248, 3), dtype=np.uint8)
    return services.inspect_views(None, [project], station, [("cam1", image)], time.perf_counter())


def _path(name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / name


def _wait(predicate, timeout, what, *processes):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    logs = "\n".join(p.output() for p in processes)
    raise AssertionError(f"{what} did not happen within {timeout} s\n{logs}")


def test_all_ng_a_sample_of_ok_then_the_scheduled_cap_removes_files_and_keeps_rows(
    trained_model, tmp_path
):
    project = trained_model.project
    station = Station.objects.create(name="Kept", keep_ok_images=OK_SHARE)
    station.projects.set([project])
    # The station's decision rule decides the verdicts: threshold 0 finds a defect in every
    # view, a threshold above any probability in none.
    plan = ["ok", "ng", "ok", "ok", "ng", "ok", "ok", "ng", "ok", "ok", "ok", "ng", "ok", "ok"]
    records = []
    for seed, wanted in enumerate(plan):
        threshold = 0.0 if wanted == "ng" else 1.01
        station.thresholds = {str(project.pk): {"threshold": threshold, "min_area": 1}}
        station.save(update_fields=["thresholds"])
        record = _judge(station, project, seed)
        assert record.verdict == wanted, record.result
        records.append(record)

    views = {v.record_id: v for v in RecordView.objects.all()}
    assert len(views) == len(plan)
    for record in records:
        view = views[record.pk]
        kept = record.verdict == "ng" or retention.sampled(record.pk, OK_SHARE)
        assert bool(view.file) == kept, (record.verdict, record.pk)
        assert (view.pruned_at is None) == kept
        if kept:
            assert _path(view.file.name).stat().st_size == view.size_bytes > 100_000
    ok_kept = [r for r in records if r.verdict == "ok" and views[r.pk].file]
    assert 0 < len(ok_kept) < plan.count("ok")  # a sample, neither none nor all
    files_before = {r.pk: _path(views[r.pk].file.name) for r in records if views[r.pk].file}
    assert retention.stored_bytes() > CAP_MB * 1024 * 1024

    env = service_env(
        settings.MEDIA_ROOT, RETENTION_INTERVAL_S="1", RECORD_IMAGES_MAX_MB=str(CAP_MB)
    )
    worker = start_worker(env, tmp_path, "retention-worker")
    beat = Process(
        "beat",
        [
            *(sys.executable, "-m", "celery", "-A", "defect_platform", "beat"),
            *("--schedule", str(tmp_path / "beat-schedule")),
        ],
        env,
        tmp_path,
    )
    try:
        _wait(
            lambda: retention.stored_bytes() <= CAP_MB * 1024 * 1024,
            120,
            "the scheduled prune",
            worker,
            beat,
        )
    finally:
        beat.stop()
        worker.stop()

    left = {v.record_id: v for v in RecordView.objects.all()}
    assert len(left) == len(plan)  # every view row stays, with when its image went
    assert InspectionRecord.objects.count() == len(plan)
    assert [r.verdict for r in InspectionRecord.objects.order_by("pk")] == plan
    remaining = [pk for pk, v in left.items() if v.file]
    assert remaining, "the cap holds at least one image"
    # OK images go first, then the oldest NG: what is left are the newest NG objects.
    ng = [r.pk for r in records if r.verdict == "ng"]
    assert sorted(remaining) == ng[-len(remaining) :]
    for pk, path in files_before.items():
        if pk in remaining:
            assert path.exists()
        else:
            assert not path.exists(), f"record {pk}: its image file is still on disk"
            assert left[pk].pruned_at is not None and left[pk].size_bytes > 0
