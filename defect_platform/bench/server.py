"""A private embedded platform (SQLite, in-memory channel layer, stations in the web process)
started in a temporary folder for the serving benchmarks, and stopped afterwards."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from training.ml.artifact import weights_bytes
from training.ml.meta import ModelMeta

ROOT = Path(__file__).resolve().parents[2]
# Settings that would point the private server at this installation's shared services.
_SHARED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MEDIA_ROOT")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(engine, model_config, cameras: int, fps: float, threads: int):
    """Yields (base_url, fixture ids) of a running server whose production model is `engine`."""
    with tempfile.TemporaryDirectory(prefix="bench-server-") as folder:
        root = Path(folder)
        env = {k: v for k, v in os.environ.items() if k not in _SHARED}
        env |= {
            "DATA_DIR": str(root / "data"),
            "DEBUG": "1",
            "INFERENCE_THREADS": str(threads),
            "STATIONS_IN_WEB": "1",
            "THROTTLE_INSPECT_RATE": "100000/min",
            "PYTHONUNBUFFERED": "1",
        }
        (root / "data").mkdir()
        (root / "model.pt").write_bytes(weights_bytes(engine.model))
        (root / "model.onnx").write_bytes(engine.onnx)
        if engine.int8:
            (root / "int8.xml").write_bytes(engine.int8[0])
            (root / "int8.bin").write_bytes(engine.int8[1])
        meta = ModelMeta(model_config, engine.size, 0.5, 20, 0.5, "resize")
        gate = {
            "chosen": engine.runtime,
            "candidates": [{"runtime": engine.runtime, "passed": True}],
        }
        spec = {
            "size": list(engine.size),
            "runtime": engine.runtime,
            "meta": meta.to_json(),
            "gate": gate,
            "cameras": cameras,
            "fps": fps,
        }
        (root / "spec.json").write_text(json.dumps(spec))
        python = [sys.executable]
        subprocess.run([*python, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        ids = json.loads(
            subprocess.run(
                [*python, "-m", "defect_platform.bench.server_fixture", folder],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.splitlines()[-1]
        )
        port = _free_port()
        log = open(root / "web.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [
                *python,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "defect_platform.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, proc, root / "web.log")
            yield url, ids
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
            log.close()


def _wait_ready(url: str, proc, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bench server exited: {log_path.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"bench server did not start: {log_path.read_text()[-2000:]}")
