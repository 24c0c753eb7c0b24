"""Load on a running server: concurrent `POST /api/inspect/` calls, and websocket clients
watching a station's live stream (frame-to-browser latency = receive time - capture time;
client and server share this machine's clock)."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time

import cv2
import requests
import websockets

from defect_platform.bench.timing import percentile
from defect_platform.synthetic.straws import render_view, sample_straw
from inspection.live import unpack_frame


def inspect_load(
    url: str, ids: dict, size, clients: int, seconds: float, prefix: str = "api.inspect"
) -> dict:
    """Closed-loop clients posting one view each as fast as answers come: with clients above
    the cores, the rate is the highest this server sustains. Errors are counted, not fatal."""
    image = render_view(sample_straw(11), 0.0, tuple(size)).image
    jpeg = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()
    headers = {"Authorization": f"Token {ids['token']}"}
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client():
        session = requests.Session()
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            response = session.post(
                f"{url}/api/inspect/",
                data={"project": ids["project"]},
                files={"images": ("view.jpg", jpeg, "image/jpeg")},
                headers=headers,
                timeout=60,
            )
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if response.status_code == 200:
                    latencies.append(elapsed)
                else:
                    errors.append(f"{response.status_code} {response.text[:200]}")

    # One request first, so model loading is not counted as serving time.
    requests.post(
        f"{url}/api/inspect/",
        data={"project": ids["project"]},
        files={"images": ("view.jpg", jpeg, "image/jpeg")},
        headers=headers,
        timeout=120,
    ).raise_for_status()
    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    if not latencies:
        raise RuntimeError(f"inspect load failed: {errors[:3]}")
    return {
        f"{prefix}_rps": len(latencies) / elapsed,
        f"{prefix}_p50_ms": statistics.median(latencies),
        f"{prefix}_p95_ms": percentile(latencies, 95),
        f"{prefix}_p99_ms": percentile(latencies, 99),
        f"{prefix}_errors": float(len(errors)),
        f"{prefix}_clients": clients,
        f"{prefix}_seconds": seconds,
    } | ({f"{prefix}_first_error": errors[0]} if errors else {})


async def _watch(uri: str, seconds: float, warmup: float, out: list[float], counts: list[int]):
    origin = uri.split("/ws/")[0].replace("ws://", "http://")
    async with websockets.connect(uri, max_size=None, open_timeout=30, origin=origin) as ws:
        started = time.monotonic()
        received = 0
        while (left := seconds - (time.monotonic() - started)) > 0:
            try:
                message = await asyncio.wait_for(ws.recv(), timeout=left)
            except TimeoutError:
                break
            if isinstance(message, str):
                continue  # status messages
            header, _ = unpack_frame(message)
            await ws.send('{"ack":1}')  # shown: as the live page does
            received += 1
            if time.monotonic() - started >= warmup:
                out.append((time.time() - header["ts"]) * 1000)
        counts.append(received)


def live_latency(
    url: str, ids: dict, clients: int, seconds: float, warmup: float = 2.0, prefix: str = "live"
) -> dict:
    uri = (
        url.replace("http://", "ws://")
        + f"/ws/stations/{ids['station']}/live/?token={ids['token']}&ack=1"
    )
    latencies: list[float] = []
    counts: list[int] = []

    async def main():
        await asyncio.gather(
            *(_watch(uri, seconds, warmup, latencies, counts) for _ in range(clients))
        )

    asyncio.run(main())
    if not latencies:
        raise RuntimeError("no live frames arrived")
    return {
        f"{prefix}.latency_p50_ms": statistics.median(latencies),
        f"{prefix}.latency_p95_ms": percentile(latencies, 95),
        f"{prefix}.clients": clients,
        f"{prefix}.frames_per_client_s": statistics.mean(counts) / seconds,
        # Every client kept receiving: the slowest one's rate against the mean.
        f"{prefix}.slowest_client_share": min(counts) / statistics.mean(counts),
    }
