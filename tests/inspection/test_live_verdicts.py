"""Live verdicts: a station's continuous captures judged by its projects' models, streamed to
the live page beside the frames and stored as records with their view images."""

import asyncio

import numpy as np
import pytest
from channels.testing import WebsocketCommunicator

from defect_platform.asgi import application
from inspection import retention
from inspection.models import InspectionRecord, RecordView, Station

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = [(b"origin", b"http://localhost")]


def _token(user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=user)[0].key


async def _verdicts(station, token, count, timeout=90.0):
    client = WebsocketCommunicator(
        application, f"/ws/stations/{station.pk}/live/?token={token}", headers=ORIGIN
    )
    connected, _ = await client.connect()
    assert connected
    got, frames = [], 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(got) < count:
        message = await client.receive_output(timeout=max(0.1, deadline - loop.time()))
        if message.get("bytes") is not None:
            frames += 1
        elif message.get("text"):
            import json

            body = json.loads(message["text"])
            if body["type"] == "verdict":
                got.append(body)
    await client.disconnect()
    return got, frames


def test_continuous_captures_are_judged_stored_and_streamed(trained_model, owner):
    station = Station.objects.create(name="Judged", fps=6.0, keep_ok_images=1.0)
    station.projects.set([trained_model.project])
    messages, frames = asyncio.run(_verdicts(station, _token(owner), 3))
    assert all(m["judging"] == "on" for m in messages), messages[0]
    assert frames >= 2 * 3  # frames flowed beside the verdicts (2 cameras)
    seqs = [m["seq"] for m in messages]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    for m in messages:
        verdict = m["verdict"]
        assert verdict["verdict"] in ("ok", "ng", "not_inspectable")
        assert [x["model_version"] for x in verdict["models"]] == [trained_model.pk]
        record = InspectionRecord.objects.get(pk=m["record"])
        assert record.station_id == station.pk and record.verdict == verdict["verdict"]
        views = list(RecordView.objects.filter(record=record))
        assert sorted(v.camera for v in views) == ["cam1", "cam2"]
        assert all(v.file and v.size_bytes > 1000 and v.captured_at for v in views)
    # The record page's API lists the views, and their images open.
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(owner)
    detail = client.get(f"/api/records/{messages[0]['record']}/").json()
    assert [v["camera"] for v in detail["views"]] == ["cam1", "cam2"]
    jpeg = client.get(detail["views"][0]["image_url"])
    assert jpeg.status_code == 200 and b"".join(jpeg.streaming_content)[:2] == b"\xff\xd8"
    totals = [sum(m["counts"].values()) for m in messages]
    assert totals == [totals[0], totals[0] + 1, totals[0] + 2]


def test_a_station_without_models_says_why_it_does_not_judge(project, owner):
    station = Station.objects.create(name="Unjudged", fps=6.0)
    station.projects.set([project])
    messages, _ = asyncio.run(_verdicts(station, _token(owner), 1, timeout=30))
    assert messages[0]["judging"] == "off"
    assert project.name in messages[0]["reason"] and "train" in messages[0]["reason"]
    assert not InspectionRecord.objects.filter(station=station).exists()


def test_retention_keeps_ng_and_a_stable_ok_sample_and_prunes_oldest_ok_first(project):
    kept = [retention.sampled(i, 0.2) for i in range(2000)]
    assert 0.17 < np.mean(kept) < 0.23
    assert kept == [retention.sampled(i, 0.2) for i in range(2000)]  # stable
    assert retention.keeps_images(1, "ng", 0.0) and retention.keeps_images(1, "not_inspectable", 0)

    from django.utils import timezone

    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    records = []
    for verdict in ["ok", "ng", "ok", "ng"]:
        record = InspectionRecord.objects.create(captured_at=timezone.now(), verdict=verdict)
        retention.store_views(record, [("cam1", image)], {}, True, [])
        records.append(record)
    size = RecordView.objects.first().size_bytes
    assert retention.stored_bytes() == 4 * size
    # Room for three: the oldest OK goes, the NG stay.
    assert retention.enforce_cap(3 * size) == 1
    gone = RecordView.objects.filter(file="").values_list("record_id", flat=True)
    assert list(gone) == [records[0].pk]
    # Room for one: the other OK goes first, then the oldest NG.
    assert retention.enforce_cap(size) == 2
    left = RecordView.objects.exclude(file="").values_list("record_id", flat=True)
    assert list(left) == [records[3].pk]
    assert RecordView.objects.count() == 4  # rows stay; pruned_at says when the image went
