"""The audit tests' constructed line: seven objects over two days, judged by two inspectors
and a supervisor, with a production model whose stored figures are known."""

import io
from datetime import UTC, datetime

import pytest
from PIL import Image as PILImage

from defect_platform.core.storage import save_bytes
from inspection.models import InspectionRecord, InspectorDecision, RecordView, Station
from tests.conftest import make_image
from training.models import ModelVersion, TrainingJob


def jpeg(seed: int) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(make_image(seed)).save(buf, format="JPEG")
    return buf.getvalue()


def at(day: int, hour: int) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def line(project, make_user):
    """Seven objects over two days. Model v1 (production): training error 0.1, validation
    error 0.2 (TPR 0.8, FPR 0.2), 14 of 30 snapshot images defective."""
    job = TrainingJob.objects.create(project=project, params={}, status="succeeded")
    version = ModelVersion.objects.create(
        project=project,
        job=job,
        number=1,
        threshold=0.5,
        min_area=1,
        input_height=64,
        input_width=64,
        weights="none.pt",
        is_production=True,
        metrics={
            "train": {"images": 20, "positives": 9, "image": {"tp": 8, "fp": 1, "fn": 1, "tn": 10}},
            "validation": {
                "images": 10,
                "positives": 5,
                "image": {"tp": 4, "fp": 1, "fn": 1, "tn": 4},
            },
        },
    )
    station = Station.objects.create(name="Line A")
    station.projects.set([project])
    ann = make_user("ann", "inspector", project)
    bob = make_user("bob", "inspector", project)
    sue = make_user("sue", "supervisor", project)
    # (when, record verdict, model found the defect, lot, ann, bob, adjudication)
    plan = [
        (at(1, 7), "ng", True, "A", "present", "present", None),  # r1 right
        (at(1, 15), "ng", True, "A", "absent", "absent", None),  # r2 false reject
        (at(1, 23), "ok", False, "B", "present", "absent", "present"),  # r3 escape
        (at(2, 2), "ok", False, "B", "absent", "absent", None),  # r4 right
        (at(2, 8), "ok", False, "B", None, None, None),  # r5 not judged
        (at(2, 9), "ok", False, "", None, None, None),  # r6 not judged
        (at(2, 10), "ng", True, "", "present", "present", None),  # r7 right
    ]
    records = []
    for when, verdict, found, lot, a, b, adjudicated in plan:
        defects = [{"project": project.pk, "defect_type": "Crack", "views": []}] if found else []
        record = InspectionRecord.objects.create(
            station=station,
            captured_at=when,
            lot=lot,
            verdict=verdict,
            result={
                "verdict": verdict,
                "defects": defects,
                "models": [{"project": project.pk, "model_version": version.pk}],
            },
        )
        record.projects.set([project])
        for user, decision in ((ann, a), (bob, b)):
            if decision:
                InspectorDecision.objects.create(
                    record=record, project=project, inspector=user, decision=decision
                )
        if adjudicated:
            InspectorDecision.objects.create(
                record=record,
                project=project,
                inspector=sue,
                decision=adjudicated,
                adjudication=True,
            )
        records.append(record)
    r2, r3 = records[1], records[2]
    RecordView.objects.create(record=r2, camera="cam1", file=save_bytes("v/r2.jpg", jpeg(2)))
    RecordView.objects.create(record=r3, camera="cam1", file=save_bytes("v/r3.jpg", jpeg(3)))
    RecordView.objects.create(record=r3, camera="cam2", file="")  # pruned by retention
    return {"records": records, "station": station, "ann": ann, "sue": sue, "version": version}
