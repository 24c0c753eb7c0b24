"""The records pages: the filtered, paginated list and one record with its views, masks,
findings, models, decisions and the way to labeling, scoped like the records API."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from defect_platform.core.roles import Role
from defect_platform.core.storage import save_bytes
from inspection.models import InspectionRecord, InspectorDecision, RecordMask, RecordView, Station
from tests.conftest import make_image, png_bytes
from tests.inspection.conftest import jpeg
from training.models import DatasetSnapshot, ModelVersion, TrainingJob

WHEN = datetime(2024, 5, 2, 8, tzinfo=UTC)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _rows(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-record="(\d+)"', html)]


def _model(project, number=1) -> ModelVersion:
    snapshot = DatasetSnapshot.objects.create(project=project, items={}, digest=f"d{number}")
    job = TrainingJob.objects.create(
        project=project, params={}, dataset=snapshot, status="succeeded"
    )
    return ModelVersion.objects.create(
        project=project,
        job=job,
        number=number,
        threshold=0.5,
        min_area=4,
        input_height=64,
        input_width=64,
        weights="none.pt",
    )


def _finding(project, camera, bbox, score):
    view = {"camera": camera, "score": score, "area_px": 120, "bbox": bbox, "mask_url": None}
    return {
        "project": project.pk,
        "defect_type": project.name,
        "score": score,
        "area_px": 120,
        "views": [view],
    }


def _entry(version):
    return {
        "project": version.project_id,
        "model_version": version.pk,
        "fused_model": None,
        "snapshot": version.job.dataset_id,
        "runtime": "onnxruntime-fp32",
        "threshold": 0.5,
        "min_area": 4,
    }


@pytest.fixture
def inspected(project, other_project, make_user):
    """One NG object of a station checking Crack and Spot: Crack found in cam1 (image kept),
    Spot in cam2 (image removed by retention), an inspector's decision on Crack."""
    station = Station.objects.create(name="Line R")
    station.projects.set([project, other_project])
    crack, spot = _model(project), _model(other_project)
    record = InspectionRecord.objects.create(
        station=station, captured_at=WHEN, serial="SN-77", lot="L9", verdict="ng", latency_ms=12
    )
    record.projects.set([project, other_project])
    record.result = {
        "id": record.pk,
        "verdict": "ng",
        "defects": [
            _finding(project, "cam1", [10, 12, 20, 6], 0.91),
            _finding(other_project, "cam2", [1, 2, 3, 4], 0.77),
        ],
        "models": [_entry(crack), _entry(spot)],
        "quality": {"cam1": {"sharpness": 812.0, "brightness": 120.0, "clipped": 0.001}},
        "quality_issues": {},
        "latency_ms": 12.0,
    }
    record.save()
    kept = RecordView.objects.create(
        record=record, camera="cam1", file=save_bytes("records/r-cam1.jpg", jpeg(1))
    )
    RecordView.objects.create(record=record, camera="cam2", file="", pruned_at=WHEN)
    mask = png_bytes((make_image(4)[:, :, 0] > 128).astype("uint8") * 255)
    crack_mask = RecordMask.objects.create(
        record=record, project=project, camera="cam1", file=save_bytes("records/m1.png", mask)
    )
    RecordMask.objects.create(
        record=record, project=other_project, camera="cam2", file=save_bytes("records/m2.png", mask)
    )
    inspector = make_user("ins", Role.INSPECTOR, project)
    InspectorDecision.objects.create(
        record=record, project=project, inspector=inspector, decision="present"
    )
    return {
        "record": record,
        "station": station,
        "crack": crack,
        "inspector": inspector,
        "kept": kept,
        "crack_mask": crack_mask,
    }


def _overlay(html: str) -> dict:
    found = re.search(r'<script id="record-data" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1))


def test_the_record_page_draws_what_the_user_may_see(inspected, project):
    record = inspected["record"]
    response = _client(inspected["inspector"]).get(f"/records/{record.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    overlay = _overlay(html)
    # Only Crack: the inspector is no member of Spot, so its mask, box and model stay hidden.
    assert overlay["types"] == [{"project": project.pk, "name": "Crack", "color": project.color}]
    assert overlay["masks"] == [
        {
            "camera": "cam1",
            "project": project.pk,
            "url": f"/api/records/{record.pk}/masks/{inspected['crack_mask'].pk}/",
        }
    ]
    assert overlay["boxes"] == [{"project": project.pk, "camera": "cam1", "bbox": [10, 12, 20, 6]}]
    views = {v["camera"]: v["image_url"] for v in overlay["views"]}
    assert views == {
        "cam1": f"/api/records/{record.pk}/views/{inspected['kept'].pk}/",
        "cam2": None,  # removed by the retention policy; its row and masks stay
    }
    assert "Spot" not in html
    assert "0.910" in html and "10, 12, 20 × 6" in html and "120 px" in html
    crack = inspected["crack"]
    assert f'href="/jobs/{crack.job_id}/">v1</a>' in html
    assert f"snapshot #{crack.job.dataset_id}" in html
    assert "onnxruntime-fp32" in html and "p ≥ 0.500" in html
    assert "ins" in html and "Defect present" in html
    assert "image removed by the retention policy" in html
    assert 'class="btn send-to-labeling"' not in html  # inspectors judge, they do not curate


def test_supervisors_may_send_the_views_to_labeling_and_staff_see_every_type(
    inspected, project, other_project, make_user
):
    record = inspected["record"]
    supervisor = make_user("sup", Role.SUPERVISOR, project)
    html = _client(supervisor).get(f"/records/{record.pk}/").content.decode()
    assert re.findall(r'class="btn send-to-labeling" type="button" data-project="(\d+)"', html) == [
        str(project.pk)
    ]
    staff = make_user("boss", staff=True)
    overlay = _overlay(_client(staff).get(f"/records/{record.pk}/").content.decode())
    assert {t["project"] for t in overlay["types"]} == {project.pk, other_project.pk}
    assert {m["camera"] for m in overlay["masks"]} == {"cam1", "cam2"}


def test_the_record_page_is_hidden_from_those_who_may_not_inspect(
    inspected, annotator, outsider, other_project, make_user
):
    record = inspected["record"]
    assert _client(annotator).get(f"/records/{record.pk}/").status_code == 404
    assert _client(make_user("lonely")).get(f"/records/{record.pk}/").status_code == 404
    # Spot's owner sees the object, but only what Spot's model found.
    overlay = _overlay(_client(outsider).get(f"/records/{record.pk}/").content.decode())
    assert [t["project"] for t in overlay["types"]] == [other_project.pk]
    assert overlay["boxes"] == [
        {"project": other_project.pk, "camera": "cam2", "bbox": [1, 2, 3, 4]}
    ]


def test_the_list_filters_like_the_api(inspected, project, other_project, make_user):
    inspector = inspected["inspector"]
    ok = InspectionRecord.objects.create(
        station=inspected["station"], captured_at=WHEN + timedelta(hours=1), verdict="ok"
    )
    ok.projects.set([project])
    elsewhere = Station.objects.create(name="Line S")
    elsewhere.projects.set([other_project])
    hidden = InspectionRecord.objects.create(station=elsewhere, captured_at=WHEN, verdict="ng")
    hidden.projects.set([other_project])
    client = _client(inspector)
    record = inspected["record"]

    assert _rows(client.get("/records/").content.decode()) == [ok.pk, record.pk]
    ng = client.get("/records/?verdict=ng").content.decode()
    assert _rows(ng) == [record.pk]
    assert "Crack" in ng and "Spot" not in ng  # the defects found, as far as the user sees
    assert _rows(client.get(f"/records/?defect_type={project.pk}").content.decode()) == [record.pk]
    assert _rows(client.get("/records/?serial=SN-77&lot=L9").content.decode()) == [record.pk]
    since = "/records/?since=2024-05-02T08:30"  # as a datetime-local input sends it
    assert _rows(client.get(since).content.decode()) == [ok.pk]
    refused = client.get(f"/records/?station={elsewhere.pk}")
    assert refused.status_code == 400
    assert _rows(refused.content.decode()) == [] and "station:" in refused.content.decode()
    empty = client.get("/records/?since=2024-05-03T00:00&until=2024-05-02T00:00")
    assert empty.status_code == 400 and "range is empty" in empty.content.decode()


def test_the_list_pages_and_keeps_its_filters(project, make_user):
    station = Station.objects.create(name="Busy")
    station.projects.set([project])
    for i in range(55):
        record = InspectionRecord.objects.create(
            station=station, captured_at=WHEN + timedelta(minutes=i), verdict="ok", lot="B"
        )
        record.projects.set([project])
    client = _client(make_user("ins", Role.INSPECTOR, project))
    first = client.get("/records/?lot=B").content.decode()
    assert len(_rows(first)) == 50 and "55 objects" in first
    assert 'href="?lot=B&amp;page=2"' in first
    second = client.get("/records/?lot=B&page=2").content.decode()
    assert len(_rows(second)) == 5 and set(_rows(first)).isdisjoint(_rows(second))


def test_navigation_station_and_audit_pages_link_to_the_records(inspected, annotator):
    inspector = _client(inspected["inspector"])
    station = inspected["station"]
    assert 'href="/records/"' in inspector.get("/projects/").content.decode()
    assert 'href="/records/"' not in _client(annotator).get("/projects/").content.decode()
    assert f'href="/records/?station={station.pk}"' in inspector.get("/live/").content.decode()
    live = inspector.get(f"/live/{station.pk}/").content.decode()
    assert f'href="/records/?station={station.pk}"' in live
    audit = inspector.get("/audit/").content.decode()
    assert f'href="/records/{inspected["record"].pk}/"' in audit
