"""Websocket clients watching one station's live stream, as browsers on its live page do
(acknowledging each frame shown). Frame age = receive time - capture time; client and server
share this machine's clock.

All clients connect first; the measured window then starts after a warm-up, the same for
every client, so a client's gaps (between the window's start, its frames, and the window's
end) say whether it received frames throughout.
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import time
from dataclasses import dataclass, field

import websockets

from defect_platform.bench.timing import percentile
from inspection.live import unpack_frame

OPEN_TIMEOUT_S = 30


@dataclass
class Viewer:
    arrivals: list[float] = field(default_factory=list)  # monotonic seconds, in the window
    ages_ms: list[float] = field(default_factory=list)
    judged: set[int] = field(default_factory=set)  # records whose verdicts arrived in it

    def max_gap_s(self, start: float, end: float) -> float:
        marks = [start, *self.arrivals, end]
        return max(b - a for a, b in zip(marks, marks[1:], strict=False))

    def every_second(self, start: float, end: float) -> bool:
        """Whether each whole second of the window saw at least one frame."""
        seconds = math.floor(end - start)
        filled = {int(t - start) for t in self.arrivals}
        return all(s in filled for s in range(seconds))


async def _view(ws, viewer: Viewer, start: float, end: float) -> None:
    while (left := end - time.monotonic()) > 0:
        try:
            message = await asyncio.wait_for(ws.recv(), timeout=left)
        except TimeoutError:
            break
        if isinstance(message, str):
            event = json.loads(message)  # station status, or a judged object
            if event.get("type") == "verdict" and event.get("record") and time.monotonic() >= start:
                viewer.judged.add(event["record"])
            continue
        header, _ = unpack_frame(message)
        await ws.send('{"ack":1}')  # shown: as the live page does
        now = time.monotonic()
        if now >= start:
            viewer.arrivals.append(now)
            viewer.ages_ms.append((time.time() - header["ts"]) * 1000)


async def _watch(uri: str, clients: int, seconds: float, warmup: float):
    origin = uri.split("/ws/")[0].replace("ws://", "http://")
    opened = await asyncio.gather(
        *(
            websockets.connect(uri, max_size=None, open_timeout=OPEN_TIMEOUT_S, origin=origin)
            for _ in range(clients)
        ),
        return_exceptions=True,
    )
    sockets = [ws for ws in opened if not isinstance(ws, BaseException)]
    failed = [exc for exc in opened if isinstance(exc, BaseException)]
    if failed:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        raise RuntimeError(
            f"{len(failed)} of {clients} viewers could not connect: "
            f"{type(failed[0]).__name__}: {failed[0]}"
        )
    try:
        start = time.monotonic() + warmup
        end = start + seconds
        viewers = [Viewer() for _ in sockets]
        await asyncio.gather(
            *(_view(ws, v, start, end) for ws, v in zip(sockets, viewers, strict=True))
        )
        return viewers, start, end
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def live_latency(
    url: str, ids: dict, clients: int, seconds: float, warmup: float = 2.0, prefix: str = "live"
) -> dict:
    uri = (
        url.replace("http://", "ws://")
        + f"/ws/stations/{ids['station']}/live/?token={ids['token']}&ack=1"
    )
    viewers, start, end = asyncio.run(_watch(uri, clients, seconds, warmup))
    ages = [age for v in viewers for age in v.ages_ms]
    if not ages:
        raise RuntimeError("no live frames arrived")
    counts = [len(v.arrivals) for v in viewers]
    judged = set().union(*(v.judged for v in viewers))
    gaps_ms = [round(v.max_gap_s(start, end) * 1000, 1) for v in viewers]
    return {
        f"{prefix}.latency_p50_ms": statistics.median(ages),
        f"{prefix}.latency_p95_ms": percentile(ages, 95),
        f"{prefix}.clients": clients,
        f"{prefix}.seconds": seconds,
        f"{prefix}.frames_per_client_s": statistics.mean(counts) / seconds,
        # Objects the station judged (every camera's view by every model) while watched.
        f"{prefix}.objects_per_s": len(judged) / seconds,
        # Every client kept receiving: the slowest one's frames against the mean, its longest
        # wait for a frame, and the share of clients that had frames in every second.
        f"{prefix}.slowest_client_share": min(counts) / statistics.mean(counts),
        f"{prefix}.max_gap_ms": max(gaps_ms),
        f"{prefix}.max_gap_p50_ms": statistics.median(gaps_ms),
        f"{prefix}.every_second_share": sum(v.every_second(start, end) for v in viewers) / clients,
        f"{prefix}.client_max_gaps_ms": gaps_ms,
    }
