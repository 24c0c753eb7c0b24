"""A station whose network camera goes away: an HTTP MJPEG stream served by a local server,
read by OpenCV's FFmpeg backend in the station's capture, beside a synthetic camera. Nothing
stands in for a camera here: the stream, the grabber and its back-off are the real ones."""

import time

from inspection.capture import Capture
from tests.mjpeg_server import serve, stop
from tests.processes import free_port


def _take_until(capture: Capture, until, timeout: float) -> tuple[list, float]:
    """Every capture's views, one each 100 ms, until `until(views)`; and how long that took."""
    started = time.monotonic()
    taken = []
    while time.monotonic() - started < timeout:
        views = capture.take()
        taken.append(views)
        if until(views):
            return taken, time.monotonic() - started
        time.sleep(0.1)
    last = [(v.camera, v.status, v.error) for v in taken[-1]] if taken else []
    raise AssertionError(f"not seen within {timeout} s; last capture: {last}")


def _online(views, camera: str) -> bool:
    return next(v for v in views if v.camera == camera).status == "online"


def test_a_stream_that_stops_goes_offline_within_5_s_and_comes_back_by_itself():
    port = free_port()
    server = serve(port)
    configs = [
        {"name": "net", "kind": "stream", "source": f"http://127.0.0.1:{port}/video.mjpg"},
        {"name": "line", "kind": "synthetic"},
    ]
    capture = Capture(configs, size=(64, 320))
    try:
        _take_until(capture, lambda views: _online(views, "net"), 20)
        stop(server)
        stopped_at = time.time()
        down, took = _take_until(capture, lambda views: not _online(views, "net"), 5)
        assert took < 5.0
        offline = down[-1][0]
        assert (offline.image, offline.captured_at) == (None, None)
        assert offline.error  # why, for the page and the camera.offline webhook

        # Down for a few seconds: the grabber keeps trying to open it, backing off.
        during, _ = _take_until(capture, lambda views: time.time() > stopped_at + 4, 6)
        server = serve(port)  # the camera is powered again, on the same address
        restarted_at = time.time()
        back, took = _take_until(capture, lambda views: _online(views, "net"), 15)
        net = back[-1][0]
        assert net.captured_at >= restarted_at and net.image.shape == (48, 64, 3)
    finally:
        capture.close()
        stop(server)

    # The other camera delivered a fresh view of every capture throughout.
    outage = down + during + back
    line = [views[1] for views in outage]
    assert all(v.status == "online" and v.image.shape == (64, 320, 3) for v in line)
    assert all(not _online(views, "net") for views in during + back[:-1])
    assert len({v.captured_at for v in line}) == len(line)
