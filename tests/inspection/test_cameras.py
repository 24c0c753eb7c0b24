"""Cameras: video and folder replay, an MJPEG stream over HTTP that goes away and comes back,
settings read back, and the synthetic line."""

import socket
import time

import cv2
import numpy as np
import pytest

from inspection.cameras import CameraError, camera_from_config
from inspection.cameras.opencv import open_attempts
from inspection.cameras.synthetic import SyntheticLine
from tests.mjpeg_server import frame, serve, stop


def test_a_video_file_replays_in_a_loop_and_reports_refused_settings(tmp_path):
    path = tmp_path / "line.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(5):
        writer.write(frame(40 * i + 20))
    writer.release()
    config = {"name": "replay", "kind": "video", "source": str(path), "settings": {"fps": 123}}
    with camera_from_config(config, 0, 1) as camera:
        levels = [int(np.median(camera.read().image[:, 16:])) for _ in range(12)]
        report = camera.settings_report()
    assert levels[:5] == pytest.approx([20, 60, 100, 140, 180], abs=6)
    assert levels[5:10] == pytest.approx(levels[:5], abs=2)  # looped
    assert report["fps"]["requested"] == 123 and report["fps"]["accepted"] is False
    assert report["fps"]["actual"] == pytest.approx(10)


def test_a_folder_replays_its_images_in_name_order(tmp_path):
    for i, level in enumerate((30, 90, 150)):
        cv2.imwrite(str(tmp_path / f"{i:02d}.png"), frame(level))
    (tmp_path / "notes.txt").write_text("not an image")
    with camera_from_config({"kind": "folder", "source": str(tmp_path)}, 0, 1) as camera:
        levels = [int(camera.read().image[0, 32, 0]) for _ in range(4)]
    assert levels == [30, 90, 150, 30]
    with pytest.raises(CameraError, match="is not a folder"):
        camera_from_config({"kind": "folder", "source": str(tmp_path / "x")}, 0, 1).open()
    (tmp_path / "empty").mkdir()
    with pytest.raises(CameraError, match="no images"):
        camera_from_config({"kind": "folder", "source": str(tmp_path / "empty")}, 0, 1).open()


def test_an_mjpeg_stream_that_goes_down_fails_clearly_and_reconnects(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = serve(port)
    config = {"name": "net", "kind": "stream", "source": f"http://127.0.0.1:{port}/video.mjpg"}
    camera = camera_from_config(config, 0, 1)
    camera.open_timeout_ms = 2000
    try:
        camera.open()
        frames = [camera.read() for _ in range(5)]
        assert all(f.image.shape == (48, 64, 3) for f in frames)
        assert frames[-1].captured_at >= frames[0].captured_at
        stop(server)
        with pytest.raises(CameraError):
            for _ in range(200):  # buffered frames drain first
                camera.read()
        server = serve(port)
        camera.open()  # the station worker's reconnect
        assert camera.read().image.shape == (48, 64, 3)
    finally:
        camera.close()
        stop(server)


def test_cameras_of_one_synthetic_line_see_the_same_straw_from_their_own_angle():
    line = SyntheticLine(seed=3, size=(64, 320))
    cams = [camera_from_config({"kind": "synthetic"}, i, 3, line) for i in range(3)]
    first = [c.read().image for c in cams]
    assert not np.array_equal(first[0], first[1])
    assert np.array_equal(cams[0].read().image, first[0])  # same straw until it moves on
    line.advance()
    assert not np.array_equal(cams[0].read().image, first[0])


def test_bad_camera_configurations_name_the_problem():
    with pytest.raises(CameraError, match="unknown camera kind"):
        camera_from_config({"name": "x", "kind": "thermal", "source": "a"}, 0, 1)
    with pytest.raises(CameraError, match="rtsp"):
        camera_from_config({"kind": "stream", "source": "ftp://cam"}, 0, 1)
    with pytest.raises(CameraError, match="number"):
        camera_from_config({"kind": "opencv", "source": "/dev/video0x"}, 0, 1)
    with pytest.raises(CameraError, match="unknown camera settings"):
        camera_from_config({"kind": "opencv", "source": 0, "settings": {"iso": 100}}, 0, 1)
    with pytest.raises(CameraError, match="cannot open"):
        camera_from_config({"kind": "opencv", "source": 97}, 0, 1).open()


def test_only_network_streams_are_opened_with_timeouts():
    # V4L2 counts parameters it does not use as a failed open: a USB camera gets none.
    assert open_attempts(0, 5000) == [(cv2.CAP_ANY, [])]
    timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 3000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 3000]
    for url in ("rtsp://cam.local/1", "http://10.0.0.5/video.mjpg", "https://cam/x"):
        assert open_attempts(url, 3000) == [(cv2.CAP_FFMPEG, timeouts), (cv2.CAP_FFMPEG, [])]
    assert all(params == [] for _, params in open_attempts("/replay/line.mp4", 3000))
    device = camera_from_config({"kind": "opencv", "source": "2"}, 0, 1)
    assert device.source == 2  # a device number given as text still opens as a device


def test_replays_play_at_their_rate_instead_of_spinning(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), frame(50))
    config = {"kind": "folder", "source": str(tmp_path), "fps": 20}
    with camera_from_config(config, 0, 1) as camera:
        wall, cpu = time.monotonic(), time.process_time()
        stamps = [camera.read().captured_at for _ in range(11)]
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    gaps = np.diff(stamps)
    assert wall >= 0.45 and gaps.min() >= 0.04  # 10 intervals of 50 ms
    assert cpu < wall / 2  # waiting, not decoding the same image again and again
    with pytest.raises(CameraError, match="fps is a number"):
        camera_from_config(dict(config, fps="fast"), 0, 1)
    with pytest.raises(CameraError, match="fps is a number"):
        camera_from_config(dict(config, fps=0), 0, 1)
