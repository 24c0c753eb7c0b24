"""Camera setup through the API: validation of the camera list, replay sources kept inside
CAMERA_FILES_ROOT, golden references kept by name, and the probe's read-back."""

import cv2
import numpy as np
import pytest

from inspection.models import Station

pytestmark = pytest.mark.django_db


@pytest.fixture
def station(project):
    station = Station.objects.create(
        name="Setup",
        cameras=[{"name": "cam1", "kind": "synthetic", "reference": {"sharpness": 10.0}}],
    )
    station.projects.set([project])
    return station


@pytest.fixture
def files(settings, tmp_path):
    root = tmp_path / "camera-files"
    (root / "replay").mkdir(parents=True)
    for i in range(3):
        image = np.full((40, 60, 3), 40 * i, np.uint8)
        cv2.imwrite(str(root / "replay" / f"{i}.png"), image)
    settings.CAMERA_FILES_ROOT = root
    return root


def test_engineers_replace_cameras_and_references_stay_by_name(
    station, owner, inspector, client_for, files
):
    url = f"/api/stations/{station.pk}/cameras/"
    cameras = [
        {"name": "cam1", "kind": "synthetic"},
        {"name": "side", "kind": "folder", "source": "replay"},
    ]
    refused = client_for(inspector).put(url, {"cameras": cameras}, format="json")
    assert refused.status_code == 403
    saved = client_for(owner).put(url, {"cameras": cameras}, format="json")
    assert saved.status_code == 200, saved.json()
    station.refresh_from_db()
    assert [c["name"] for c in station.cameras] == ["cam1", "side"]
    assert station.cameras[0]["reference"] == {"sharpness": 10.0}
    assert station.cameras[1]["source"] == str(files / "replay")
    listed = client_for(inspector).get(url).json()
    assert [c["name"] for c in listed["cameras"]] == ["cam1", "side"]


@pytest.mark.parametrize(
    "camera, message",
    [
        ({"name": "x", "kind": "folder", "source": "../../etc"}, "inside"),
        ({"name": "x", "kind": "folder", "source": "/etc"}, "inside"),
        ({"name": "x", "kind": "webcam"}, "kind must be one of"),
        ({"name": "x", "kind": "opencv", "source": "zero"}, "a number"),
        ({"name": "x", "kind": "stream", "source": "file:///etc/passwd"}, "rtsp"),
        (
            {"name": "x", "kind": "opencv", "source": 0, "settings": {"iso": 100}},
            "unknown settings",
        ),
        ({"name": "", "kind": "synthetic"}, "name"),
    ],
)
def test_bad_cameras_are_refused_with_a_reason_and_nothing_changes(
    station, owner, client_for, files, camera, message
):
    before = list(station.cameras)
    answer = client_for(owner).put(
        f"/api/stations/{station.pk}/cameras/", {"cameras": [camera]}, format="json"
    )
    assert answer.status_code == 400 and message in answer.json()["detail"]
    station.refresh_from_db()
    assert station.cameras == before


def test_duplicate_names_are_refused(station, owner, client_for):
    twins = [{"name": "a", "kind": "synthetic"}, {"name": "a", "kind": "synthetic"}]
    answer = client_for(owner).put(
        f"/api/stations/{station.pk}/cameras/", {"cameras": twins}, format="json"
    )
    assert answer.status_code == 400 and "differ" in answer.json()["detail"]


def test_the_probe_reads_a_frame_and_reports_what_a_camera_accepted(
    station, owner, client_for, files, tmp_path
):
    video = files / "line.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(5):
        writer.write(np.full((48, 64, 3), 30 * i, np.uint8))
    writer.release()
    cameras = [
        {"name": "replay", "kind": "folder", "source": "replay"},
        {"name": "clip", "kind": "video", "source": "line.avi", "settings": {"fps": 10}},
        {"name": "gone", "kind": "video", "source": "missing.avi"},
    ]
    api = client_for(owner)
    assert (
        api.put(
            f"/api/stations/{station.pk}/cameras/", {"cameras": cameras}, format="json"
        ).status_code
        == 200
    )
    folder = api.post(f"/api/stations/{station.pk}/cameras/replay/probe/").json()
    assert folder["opened"] and folder["frame"] == {"width": 60, "height": 40}
    assert set(folder["quality"]) == {"sharpness", "brightness", "clipped"}
    clip = api.post(f"/api/stations/{station.pk}/cameras/clip/probe/").json()
    assert clip["opened"] and clip["frame"] == {"width": 64, "height": 48}
    assert clip["settings"]["fps"]["requested"] == 10 and "accepted" in clip["settings"]["fps"]
    gone = api.post(f"/api/stations/{station.pk}/cameras/gone/probe/").json()
    assert gone["opened"] is False and "cannot open" in gone["error"]
    unknown = api.post(f"/api/stations/{station.pk}/cameras/nope/probe/")
    assert unknown.status_code == 400


def test_stream_cameras_stay_inside_the_camera_networks(station, owner, client_for, settings):
    settings.CAMERA_NETWORKS = ["10.20.0.0/16", "camera-gw.plant.example"]

    def put(source):
        camera = {"name": "line", "kind": "stream", "source": source}
        return client_for(owner).put(
            f"/api/stations/{station.pk}/cameras/", {"cameras": [camera]}, format="json"
        )

    outside = put("http://127.0.0.1:6379/")  # the machine's own services, say
    assert outside.status_code == 400 and "outside the camera networks" in outside.json()["detail"]
    assert put("rtsp://10.20.3.4:554/stream1").status_code == 200
    assert put("rtsp://camera-gw.plant.example/cam7").status_code == 200
    settings.CAMERA_NETWORKS = []
    assert put("http://127.0.0.1:8081/feed.mjpg").status_code == 200  # no list: anywhere
