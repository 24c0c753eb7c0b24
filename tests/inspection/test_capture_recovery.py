"""Cameras and station runners that outlive their failures: a driver that throws cv2.error, a
read that never returns, cameras that cannot open, a capture that throws. The failing cameras
are real Camera subclasses standing in for hardware; everything above them is the real code."""

import asyncio
import functools
import threading
import time

import cv2
import numpy as np
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from inspection import live
from inspection.cameras import Camera, CameraError, Frame, camera_from_config
from inspection.cameras.synthetic import SyntheticCamera
from inspection.capture import Capture
from inspection.models import Station


def _driver_error():
    """A real cv2.error, as a camera driver's conversion raises it."""
    cv2.cvtColor(np.zeros((2, 2, 5), np.uint8), cv2.COLOR_BGR2GRAY)


def _level(view) -> int | None:
    return None if view.image is None else int(view.image[0, 0, 0])


class ThrowingCamera(Camera):
    """A USB camera whose driver throws cv2.error after `fail_after` frames, on its first open
    only; its frames' level tells which open delivered them."""

    def __init__(self, name: str, fail_after: int):
        self.name = name
        self.fail_after = fail_after
        self.opens = 0
        self.reads = 0

    def open(self):
        self.opens += 1
        self.reads = 0

    def read(self):
        time.sleep(0.02)
        self.reads += 1
        if self.opens == 1 and self.reads > self.fail_after:
            _driver_error()
        return Frame(np.full((16, 16, 3), 40 * self.opens, np.uint8), time.time())


class HangingCamera(Camera):
    """A stream whose read blocks for good after `hang_after` frames (a dead socket without a
    timeout) until `unblock` is set."""

    def __init__(self, name: str, level: int, hang_after: int | None):
        self.name = name
        self.level = level
        self.hang_after = hang_after
        self.reads = 0
        self.unblock = threading.Event()
        self.closed = False

    def read(self):
        time.sleep(0.02)
        self.reads += 1
        if self.hang_after is not None and self.reads > self.hang_after:
            self.unblock.wait()
            raise CameraError(f"{self.name}: stream closed")
        return Frame(np.full((16, 16, 3), self.level, np.uint8), time.time())

    def close(self):
        self.closed = True


def _watch(capture: Capture, until, timeout: float = 10.0) -> list:
    """Views of camera 0 (and whether camera 1 was online) every 20 ms until `until(seen)`."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        views = capture.take()
        seen.append((views[0].status, views[0].error, _level(views[0]), views[1].status))
        if until(seen):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"not seen in {timeout} s: {seen[-5:]}")


def test_a_driver_that_throws_leaves_its_camera_offline_with_the_reason_then_reopened():
    usb = ThrowingCamera("usb", fail_after=5)

    def make(config, index, count, line):
        return usb if config["kind"] == "usb" else camera_from_config(config, index, count, line)

    configs = [{"name": "usb", "kind": "usb"}, {"name": "line", "kind": "synthetic"}]
    capture = Capture(configs, size=(32, 96), make_camera=make)
    try:
        seen = _watch(capture, lambda s: s[-1][0] == "online" and s[-1][2] == 80)
    finally:
        capture.close()
    statuses = [status for status, *_ in seen]
    first_online = statuses.index("online")
    offline = [s for s in seen[first_online:] if s[0] == "offline"]
    assert offline, "the failure was never reported"
    assert all(
        error.startswith("cv2.error: (-15:Bad number of channels)") for _, error, *_ in offline
    )
    assert seen[first_online][2] == 40 and usb.opens == 2  # reopened, and reading again
    assert all(line == "online" for *_, line in seen)  # the other camera never stopped


def test_a_read_that_never_returns_is_left_behind_and_the_camera_opened_anew():
    made: list[HangingCamera] = []

    def make(config, index, count, line):
        if config["kind"] == "synthetic":
            return camera_from_config(config, index, count, line)
        made.append(HangingCamera("rtsp", 50 if not made else 150, 3 if not made else None))
        return made[-1]

    configs = [{"name": "rtsp", "kind": "rtsp"}, {"name": "line", "kind": "synthetic"}]
    capture = Capture(configs, size=(32, 96), make_camera=make, hung_after_s=1.0)
    try:
        started = time.monotonic()
        seen = _watch(capture, lambda s: s[-1][2] == 150)
        took = time.monotonic() - started
        assert [level for _, _, level, _ in seen if level][0] == 50
        assert len(made) == 2 and took < 5.0
        (stuck,) = capture.stuck[0]
        assert stuck.is_alive() and not made[0].closed  # still blocked in its read
        made[0].unblock.set()  # the driver gives up at last: its reader ends quietly
        stuck.join(timeout=5)
        assert not stuck.is_alive() and made[0].closed
        assert capture.take()[0].status == "online"
    finally:
        capture.close()


def _frames_until(runner: live.StationRunner, wanted, on_frame=None, timeout: float = 20.0):
    """Run `runner` and collect its frame messages until `wanted(frames)`; `on_frame(frames)`
    (a coroutine function) acts on the line after each frame. The runner must still run."""

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(live.station_group(runner.station_id), channel)
        task = asyncio.create_task(runner.run())
        frames = []
        try:
            async with asyncio.timeout(timeout):
                while not wanted(frames):
                    message = await layer.receive(channel)
                    if message["type"] == "station.frame":
                        frames.append(message)
                        if on_frame:
                            await on_frame(frames)
            assert not task.done(), task
        finally:
            task.cancel()
        return frames

    return asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
def test_a_station_whose_cameras_cannot_open_says_why_and_runs_once_they_are_fixed():
    station = Station.objects.create(
        name="Miswired", fps=10.0, cameras=[{"name": "usb", "kind": "opencv", "source": "usb0"}]
    )
    fixed = False

    async def fix(frames):
        nonlocal fixed
        if not fixed and sum(f["status"] == "offline" for f in frames) >= 2:
            fixed = True  # two failed attempts, then an engineer fixes the cameras
            await sync_to_async(Station.objects.filter(pk=station.pk).update)(
                cameras=[{"name": "cam1", "kind": "synthetic"}]
            )

    def wanted(frames):
        return any(f["camera"] == "cam1" and f["status"] == "online" for f in frames)

    frames = _frames_until(live.StationRunner(station.pk, judge=False), wanted, fix)
    offline = [f for f in frames if f["status"] == "offline"]
    assert {f["camera"] for f in offline} == {"usb"}
    assert all("an OpenCV device is a number" in f["error"] for f in offline)
    assert frames[-1]["jpeg"][:2] == b"\xff\xd8"


class FlakyView(SyntheticCamera):
    """A synthetic view whose rendering throws cv2.error at the station's third capture."""

    def __init__(self, *args, count: list[int]):
        super().__init__(*args)
        self.count = count

    def read(self):
        self.count[0] += 1
        if self.count[0] == 3:
            _driver_error()
        return super().read()


@pytest.mark.django_db(transaction=True)
def test_a_capture_that_throws_is_reported_and_the_station_goes_on():
    station = Station.objects.create(name="Flaky", fps=10.0, cameras=[{"name": "cam1"}])
    count = [0]

    def make(config, index, total, line):
        return FlakyView(config["name"], line, index, total, count=count)

    runner = live.StationRunner(
        station.pk, judge=False, make_capture=functools.partial(Capture, make_camera=make)
    )
    frames = _frames_until(runner, lambda frames: sum(f["status"] == "online" for f in frames) >= 4)
    statuses = [f["status"] for f in frames]
    assert statuses[:3] == ["online", "online", "offline"]
    assert frames[2]["error"].startswith("capture failed: cv2.error: (-15:Bad number")
    assert statuses[3:] == ["online"] * (len(statuses) - 3)
