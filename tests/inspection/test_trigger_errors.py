"""Triggers that cannot capture answer 409 with the reason, and a station's cameras held open
for triggers close when it is stopped, re-cabled or deleted."""

import threading
import time

import numpy as np
import pytest
from PIL import Image as PILImage

from defect_platform.core.roles import Role
from inspection import camera_setup, triggering
from inspection.models import Station


@pytest.fixture(autouse=True)
def _close_cached_captures(request):
    request.addfinalizer(triggering.close_all)


def _trigger(client, station):
    return client.post(f"/api/stations/{station.pk}/trigger/", {}, format="json")


@pytest.mark.parametrize(
    ("cameras", "reason"),
    [
        ([{"name": "x", "kind": "laser", "source": "1"}], "unknown camera kind 'laser'"),
        ([{"name": "x", "kind": "stream"}], "needs a source"),
        ([{"name": "x", "kind": "stream", "source": "ftp://cam/1"}], "rtsp:// or http"),
        ([{"name": "x", "kind": "opencv", "source": "front"}], "a number"),
        ([{"name": "x", "kind": "synthetic", "defect_rates": {"crack": 7}}], "from 0 to 1"),
        ([], "no cameras set up"),
        ({"name": "x"}, "no cameras set up"),
        (["cam1"], "each camera must be an object"),
    ],
)
def test_a_trigger_on_broken_saved_cameras_is_a_409_naming_the_reason(
    client_for, inspector, project, cameras, reason
):
    # Saved past the API's checks (the admin, an old row): the trigger must not crash.
    station = Station.objects.create(name="Broken", cameras=cameras)
    station.projects.set([project])
    answer = _trigger(client_for(inspector), station)
    assert answer.status_code == 409, answer.content
    body = answer.json()
    assert body["code"] == "cameras_unusable"
    assert "Broken" in body["detail"] and reason in body["detail"]
    assert station.pk not in triggering._captures


def test_a_trigger_on_a_stopped_station_opens_no_camera(client_for, inspector, project, tmp_path):
    station = Station.objects.create(name="Halted", active=False, cameras=_folder_cameras(tmp_path))
    station.projects.set([project])
    answer = _trigger(client_for(inspector), station)
    assert answer.status_code == 409
    assert answer.json()["code"] == "station_stopped"
    assert "Halted" in answer.json()["detail"] and "start it" in answer.json()["detail"]
    assert station.pk not in triggering._captures
    assert not _grabbers("halted-")


def _folder_cameras(tmp_path, prefix="halted-"):
    folder = tmp_path / "frames"
    folder.mkdir(exist_ok=True)
    PILImage.fromarray(np.full((32, 48, 3), 90, np.uint8)).save(folder / "f.png")
    return [{"name": f"{prefix}{i}", "kind": "folder", "source": str(folder)} for i in range(2)]


def _grabbers(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(f"grab-{prefix}")]


def _open_cameras(client, station, prefix):
    # No production model: the cameras open and capture, then the judging answers 409.
    answer = _trigger(client, station)
    assert answer.json()["code"] == "no_model"
    assert len(_grabbers(prefix)) == 2 and all(t.is_alive() for t in _grabbers(prefix))


def test_stopping_re_cabling_or_deleting_a_station_closes_its_trigger_cameras(
    client_for, make_user, inspector, project, tmp_path
):
    station = Station.objects.create(name="Held", cameras=_folder_cameras(tmp_path, "held-"))
    station.projects.set([project])
    supervisor = make_user("supervisor", Role.SUPERVISOR, project)
    client = client_for(inspector)

    _open_cameras(client, station, "held-")
    assert client_for(supervisor).post(f"/api/stations/{station.pk}/stop/").status_code == 200
    assert not _grabbers("held-"), "a stopped station's grabbers still run"
    assert station.pk not in triggering._captures

    client_for(supervisor).post(f"/api/stations/{station.pk}/start/")
    station.refresh_from_db()
    _open_cameras(client, station, "held-")
    camera_setup.save_cameras(station, [{"name": "other", "kind": "synthetic"}])
    assert not _grabbers("held-"), "re-cabled cameras still run"

    station.cameras = _folder_cameras(tmp_path, "held-")
    station.save()
    _open_cameras(client, station, "held-")
    station.delete()
    assert not _grabbers("held-"), "a deleted station's grabbers still run"
    assert not triggering._captures


def test_a_station_stopped_by_another_process_closes_at_the_next_trigger_here(
    client_for, inspector, project, tmp_path
):
    station = Station.objects.create(name="Far", cameras=_folder_cameras(tmp_path, "far-"))
    other = Station.objects.create(name="Near", cameras=[{"name": "n", "kind": "synthetic"}])
    for s in (station, other):
        s.projects.set([project])
    client = client_for(inspector)
    _open_cameras(client, station, "far-")
    # Another process changes the row: no signal reaches this one.
    Station.objects.filter(pk=station.pk).update(active=False)
    assert _grabbers("far-")
    _trigger(client, other)
    deadline = time.monotonic() + 3
    while _grabbers("far-") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _grabbers("far-")
    assert station.pk not in triggering._captures and other.pk in triggering._captures
