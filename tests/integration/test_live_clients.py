"""A synthetic station end to end through a real ASGI server (Daphne, embedded mode): websocket
clients get its frames and verdicts, and a slow client neither slows a fast one down nor gets
stale frames (latest frame wins, consumers.StationLiveConsumer)."""

import contextlib
import json
import queue
import threading
import time

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from inspection.live import unpack_frame
from inspection.models import Station
from tests.processes import service_env, start_web

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
# One camera at two captures per second: a rate that a loaded 2-core machine keeps while
# judging, so that the rates compared are what the clients get, not what the station makes;
# and a frame the server holds for a slow client is at most one period (0.5 s) old.
FPS = 2.0
MEASURE_S = 10.0
SLOW_CLIENT_S = 1.5  # the slow client's time to show one frame


class LiveClient:
    """A websocket client of the live page (`?ack=1`, as live.js) whose reading thread notes
    when each message arrives, as a browser's onmessage would. `show_s`: how long it takes to
    show a frame before it acknowledges it; 0 acknowledges at once, like a browser that keeps
    up. A slow client's frames wait for it in its own queue, as many as the server lets be in
    flight (`most_unshown`); their age is taken on arrival, where the server's part ends."""

    def __init__(self, ws, show_s: float = 0.0):
        self.ws = ws
        self.show_s = show_s
        self.frames: list[tuple[float, float, dict]] = []  # (monotonic, age in s, header)
        self.verdicts: list[dict] = []
        self.not_jpeg = 0
        self.unshown: queue.Queue = queue.Queue()
        self.most_unshown = 0
        self.closed = threading.Event()
        self.threads = [threading.Thread(target=self._read, daemon=True)]
        if show_s:
            self.threads.append(threading.Thread(target=self._show, daemon=True))
        for thread in self.threads:
            thread.start()

    def _read(self) -> None:
        try:
            for message in self.ws:
                if isinstance(message, str):
                    body = json.loads(message)
                    if body["type"] == "verdict":
                        self.verdicts.append(body)
                    continue
                header, jpeg = unpack_frame(message)
                self.not_jpeg += jpeg[:2] != b"\xff\xd8"
                # The capture's own timestamp: same machine, same clock.
                self.frames.append((time.monotonic(), time.time() - header["ts"], header))
                if self.show_s:
                    self.unshown.put(header)
                    self.most_unshown = max(self.most_unshown, self.unshown.qsize())
                else:
                    self.ws.send('{"ack": 1}')
        finally:
            self.closed.set()

    def _show(self) -> None:
        while not self.closed.is_set():
            try:
                self.unshown.get(timeout=0.5)
            except queue.Empty:
                continue
            time.sleep(self.show_s)
            with contextlib.suppress(ConnectionClosed):  # closed while showing
                self.ws.send('{"ack": 1}')

    def rate(self, since: float, until: float) -> float:
        """Frames per second between the first and the last frame that arrived in [since,
        until) (monotonic clock): spans of whole capture periods, so windows that start or
        end between two captures do not round the rate."""
        arrived = [at for at, _, _ in self.frames if since <= at < until]
        return (len(arrived) - 1) / (arrived[-1] - arrived[0])

    def close(self) -> None:
        self.ws.close()
        for thread in self.threads:
            thread.join(timeout=5)


def _client(stack: contextlib.ExitStack, url: str, station_id: int, token: str, show_s=0.0):
    ws_url = url.replace("http", "ws", 1)
    path = f"/ws/stations/{station_id}/live/?ack=1&token={token}"
    client = LiveClient(stack.enter_context(connect(ws_url + path, origin=url)), show_s)
    stack.callback(client.close)
    return client


def _wait(condition, timeout: float, what: str, web) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s:\n{web.output()}")
        time.sleep(0.1)


def test_a_slow_client_neither_slows_a_fast_one_nor_gets_stale_frames(
    trained_model, inspector, tmp_path
):
    station = Station.objects.create(
        name="Live", fps=FPS, active=True, cameras=[{"name": "cam1", "kind": "synthetic"}]
    )
    station.projects.set([trained_model.project])
    token = Token.objects.create(user=inspector).key
    env = service_env(settings.MEDIA_ROOT, redis=False, STATIONS_IN_WEB="1")
    web, url = start_web(env, tmp_path)
    try:
        with contextlib.ExitStack() as stack:
            fast = _client(stack, url, station.pk, token)
            _wait(lambda: len(fast.frames) >= 2 and fast.verdicts, 60, "no frame or verdict", web)
            time.sleep(1.0)  # settled: the model is loaded and the judge keeps pace
            alone_from = time.monotonic()
            time.sleep(MEASURE_S)
            alone = fast.rate(alone_from, time.monotonic())

            slow = _client(stack, url, station.pk, token, show_s=SLOW_CLIENT_S)
            _wait(lambda: slow.frames, 10, "no frame for the slow client", web)
            shared_from = time.monotonic()
            time.sleep(MEASURE_S)
            shared_until = time.monotonic()
            shared = fast.rate(shared_from, shared_until)
            slow_frames = list(slow.frames)
    finally:
        web.stop()

    assert shared >= 0.9 * alone, f"{shared:.1f} frames/s beside a slow client, {alone:.1f} alone"
    assert {header["camera"] for _, _, header in fast.frames} == {"cam1"}
    assert (fast.not_jpeg, slow.not_jpeg) == (0, 0)
    judged = [v for v in fast.verdicts if v["judging"] == "on"]
    assert judged and all(v["verdict"]["verdict"] in ("ok", "ng") for v in judged)
    assert all(v["verdict"]["station"] == station.pk for v in judged)

    # The slow client fell far behind the line, yet every frame it got was fresh: the server
    # skipped frames for it (counted in `dropped`) instead of queueing them.
    def arrived(frames) -> int:
        return sum(shared_from <= at < shared_until for at, _, _ in frames)

    assert arrived(slow_frames) < 0.5 * arrived(fast.frames)
    ages = [age for _, age, _ in slow_frames]
    assert max(ages) < 1.0, f"frame ages of the slow client: {ages}"
    assert slow_frames[-1][2]["dropped"] > 0
    assert slow.most_unshown <= 2  # the window: two frames per camera in flight
