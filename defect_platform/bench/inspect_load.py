"""Load on `POST /api/inspect/` of a running server: closed-loop clients (each posts one view
as soon as its previous answer came), a ramp of concurrency levels that finds the highest rate
served without errors, and a sustained run at that level.

A level's rate is what the server answers with that many requests in flight; past the level
where the rate stops growing, more clients only add queueing (latency) or errors.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import requests

from defect_platform.bench.timing import percentile
from defect_platform.synthetic.straws import render_view, sample_straw

# A level has to beat the best rate so far by this share to count as a gain. The ramp stops
# at the first level with errors or a p99 over P99_LIMIT_MS (no caller on a line waits that
# long for a verdict), or after PATIENCE levels in a row without a gain (the server is
# saturated; one more level guards against a noisy step).
MIN_GAIN = 0.05
PATIENCE = 2
P99_LIMIT_MS = 5000
# The sustained level is the fewest clients reaching this share of the best rate: past the
# knee more clients only queue, and a noisy step at 64 clients must not win by 1%.
KNEE_SHARE = 0.9
REQUEST_TIMEOUT_S = 30


@dataclass
class Step:
    """One closed-loop run: `clients` requests in flight for `seconds`."""

    clients: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        return percentile(self.latencies_ms, q) if self.latencies_ms else float("nan")

    def summary(self) -> dict:
        return {
            "clients": self.clients,
            "rps": round(self.rps, 2),
            "p99_ms": round(self.percentile_ms(99), 1),
            "errors": len(self.errors),
        }


def closed_loop(
    post: Callable[[requests.Session], requests.Response], clients: int, seconds: float
) -> Step:
    """`clients` threads posting back to back for `seconds`; a non-200 answer or a failed
    request (refused, reset, timed out) is an error, never a lost count."""
    step = Step(clients, seconds)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client():
        session = requests.Session()
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                response = post(session)
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
            else:
                ok = response.status_code == 200
                error = None if ok else f"{response.status_code} {response.text[:200]}"
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if error is None:
                    step.latencies_ms.append(elapsed)
                else:
                    step.errors.append(error)

    started = time.monotonic()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Answers that arrive after stop_at still count, so the rate is over the real span.
    step.seconds = time.monotonic() - started
    return step


def ramp(post, levels: list[int], step_s: float, log=lambda line: None) -> list[Step]:
    """Runs the levels in order until one is not served or the rate stops growing."""
    steps: list[Step] = []
    for clients in levels:
        step = closed_loop(post, clients, step_s)
        steps.append(step)
        log(
            f"  ramp: {clients:3d} clients  {step.rps:7.1f} req/s  p99 "
            f"{step.percentile_ms(99):7.0f} ms  {len(step.errors)} errors"
        )
        best = _best_rate(steps)
        since_best = next(
            (n for n, earlier in enumerate(reversed(steps)) if earlier is best), len(steps)
        )
        if not _served(step) or since_best >= PATIENCE:
            break
    return steps


def _served(step: Step) -> bool:
    return not step.errors and bool(step.latencies_ms) and step.percentile_ms(99) <= P99_LIMIT_MS


def _best_rate(steps: list[Step]) -> Step | None:
    """The highest rate before the first level with errors or an unbearable p99; a level
    within MIN_GAIN of a smaller one does not count as higher."""
    best = None
    for step in steps:
        if not _served(step):
            break
        if best is None or step.rps >= best.rps * (1 + MIN_GAIN):
            best = step
    return best


def choose(steps: list[Step]) -> Step | None:
    """The knee: the fewest clients whose rate reaches KNEE_SHARE of the best served rate.
    None when the first level was not served."""
    best = _best_rate(steps)
    if best is None:
        return None
    served = steps[: steps.index(best) + 1]
    return next(s for s in served if s.rps >= best.rps * KNEE_SHARE)


def doubling(up_to: int) -> list[int]:
    levels = [1]
    while levels[-1] * 2 <= up_to:
        levels.append(levels[-1] * 2)
    return levels


def measure(
    url: str, ids: dict, size, step_s: float, sustain_s: float, max_clients: int, log
) -> dict:
    """The ramp, then `sustain_s` at the chosen level. `api.inspect_*` is one client alone (the
    latency of an idle server); `load.inspect_*` the sustained run."""
    image = render_view(sample_straw(11), 0.0, tuple(size)).image
    jpeg = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()
    headers = {"Authorization": f"Token {ids['token']}"}

    def post(session: requests.Session, timeout=REQUEST_TIMEOUT_S) -> requests.Response:
        return session.post(
            f"{url}/api/inspect/",
            data={"project": ids["project"]},
            files={"images": ("view.jpg", jpeg, "image/jpeg")},
            headers=headers,
            timeout=timeout,
        )

    # One request first, so loading the model is not counted as serving time.
    post(requests.Session(), timeout=120).raise_for_status()
    steps = ramp(post, doubling(max_clients), step_s, log)
    chosen = choose(steps)
    if chosen is None:
        raise RuntimeError(f"inspect load failed with one client: {steps[0].errors[:3]}")
    log(f"  sustained: {chosen.clients} clients for {sustain_s:.0f} s")
    sustained = closed_loop(post, chosen.clients, sustain_s)
    if not sustained.latencies_ms:
        raise RuntimeError(f"inspect load failed: {sustained.errors[:3]}")
    single = steps[0]
    return {
        "api.inspect_rps": single.rps,
        "api.inspect_p50_ms": statistics.median(single.latencies_ms),
        "api.inspect_p95_ms": single.percentile_ms(95),
        "load.inspect_ramp": [s.summary() for s in steps],
        "load.inspect_clients": chosen.clients,
        "load.inspect_rps": sustained.rps,
        "load.inspect_p50_ms": statistics.median(sustained.latencies_ms),
        "load.inspect_p95_ms": sustained.percentile_ms(95),
        "load.inspect_p99_ms": sustained.percentile_ms(99),
        "load.inspect_errors": float(len(sustained.errors)),
        "load.inspect_seconds": sustained.seconds,
    } | ({"load.inspect_first_error": sustained.errors[0]} if sustained.errors else {})
