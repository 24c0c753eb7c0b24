"""Fused models on the platform: trained over a station's projects from their own one-type
labels, gated, compared with the projects' own models, and used by the station's engine with
one network run per batch of views."""

import numpy as np
import pytest

from annotation.services import add_image, save_label
from defect_platform.core.models import Project
from inspection.models import Station
from inspection.services import inspect_uploads
from tests.conftest import make_image, png_bytes
from training import fused_services, registry
from training.ml import runtime
from training.models import FusedModel

PARAMS = {"epochs": 12, "batch_size": 4, "lr": 0.01, "seed": 0, "max_steps_per_epoch": 4}


def _defect(kind: str, seed: int):
    pixels = make_image(seed)
    mask = np.zeros((64, 64), np.uint8)
    y, x = (10, 10) if kind == "bright" else (34, 34)
    pixels[y : y + 16, x : x + 16] = 255 if kind == "bright" else 0
    mask[y : y + 16, x : x + 16] = 255
    return pixels, mask


@pytest.fixture
def station(project, owner, make_user):
    """Crack (bright squares) and Spot (dark squares), 64x64, each with defects and clean
    images labelled only for its own type."""
    spot = Project.objects.create(name="Spot", slug="spot-f", input_height=64, input_width=64)
    project.input_height = project.input_width = 64
    project.save()
    from defect_platform.core.models import Membership

    Membership.objects.create(user=owner, project=spot, role="owner")
    for p, kind, base in ((project, "bright", 0), (spot, "dark", 100)):
        for i in range(8):
            pixels, mask = _defect(kind, base + i)
            image, _ = add_image(p, png_bytes(pixels), f"{kind}{i}.png", owner)
            save_label(image, owner, "mask", png_bytes(mask), False, None)
        for i in range(4):
            image, _ = add_image(p, png_bytes(make_image(base + 50 + i)), f"ok{i}.png", owner)
            save_label(image, owner, "negative", None, False, None)
    line = Station.objects.create(name="Fused line")
    line.projects.set([project, spot])
    return line


@pytest.mark.django_db
def test_a_station_trains_and_uses_a_fused_model(station, owner, client_for):
    api = client_for(owner)
    queued = api.post(f"/api/stations/{station.pk}/fused-models/", PARAMS, format="json")
    assert queued.status_code == 202, queued.json()
    fused = fused_services.run(queued.json()["id"])  # what the Celery task does
    assert fused.status == FusedModel.Status.SUCCEEDED, fused.error
    projects = list(station.projects.order_by("pk"))
    assert fused.project_ids == [p.pk for p in projects]
    for channel in fused.channels:
        assert 0 < channel["threshold"] < 1 and channel["min_area"] >= 1
    gate = fused.metadata["runtime_gate"]
    assert gate["chosen"] == fused.runtime and len(gate["channels"]) == 2
    if runtime.OV_INT8 in runtime.available():
        # int8 is made for the fused network too, and judged on every channel.
        assert fused.int8_model and fused.int8_weights
        for channel in gate["channels"]:
            int8 = next(c for c in channel["candidates"] if c["runtime"] == runtime.OV_INT8)
            assert int8["verdict_agreement"] is not None
        if runtime.OV_INT8 in gate["passed"]:
            assert fused.runtime == runtime.OV_INT8
            assert registry.load_fused(fused)[0].runtime == runtime.OV_INT8
    comparison = fused.metadata["comparison"]
    assert [row["project"] for row in comparison] == [p.pk for p in projects]
    assert all(row["fused"]["image_f1"] is not None for row in comparison)
    assert all(row["own_model"] is None for row in comparison)  # no own models trained here

    listed = api.get(f"/api/stations/{station.pk}/fused-models/").json()
    assert [f["id"] for f in listed] == [fused.pk]
    chosen = api.post(
        f"/api/stations/{station.pk}/fused-models/select/", {"fused_model": fused.pk}, format="json"
    )
    assert chosen.status_code == 200
    station.refresh_from_db()

    pixels, _ = _defect("bright", 999)
    record = inspect_uploads(owner, projects, station, [("cam1", png_bytes(pixels))])
    assert [
        (m["project"], m["fused_model"], m["model_version"]) for m in record.result["models"]
    ] == [(p.pk, fused.pk, None) for p in projects]

    # The engine asks every channel with one prepared batch: the network runs once.
    loaded = registry.load_fused(fused)
    shared = loaded[0].runner.shared
    assert all(m.runner.shared is shared for m in loaded)
    before = shared.runs
    from inspection import engine

    engine.run(loaded, [("cam1", pixels), ("cam2", pixels)])
    assert shared.runs == before + 1

    back = api.post(
        f"/api/stations/{station.pk}/fused-models/select/", {"fused_model": None}, format="json"
    )
    assert back.status_code == 200
    station.refresh_from_db()
    assert station.fused_model is None


@pytest.mark.django_db
def test_a_fused_model_needs_two_projects_with_labels(project, owner):
    with pytest.raises(Exception, match="two or more"):
        fused_services.create([project], owner, {})
    empty = Project.objects.create(
        name="Empty",
        slug="empty",
        input_height=project.input_height,
        input_width=project.input_width,
    )
    with pytest.raises(Exception, match="No labelled images"):
        fused_services.create([project, empty], owner, {})


@pytest.mark.django_db
def test_a_fused_model_takes_a_weight_average_within_its_range(station, owner, client_for):
    api = client_for(owner)
    url = f"/api/stations/{station.pk}/fused-models/"
    for bad in (0.3, 1.0):
        refused = api.post(url, {**PARAMS, "ema_decay": bad}, format="json")
        assert refused.status_code == 400 and "ema_decay" in refused.json()["errors"]
    queued = api.post(url, {**PARAMS, "ema_decay": 0.99}, format="json")
    assert queued.status_code == 202, queued.json()
    assert FusedModel.objects.get(pk=queued.json()["id"]).params["ema_decay"] == 0.99
