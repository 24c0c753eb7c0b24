"""Starting the platform's real processes (ASGI server, Celery worker, station worker) for
integration tests, against the test database, and stopping them afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(media_root: Path, redis: bool = True, **extra: str) -> dict[str, str]:
    """Environment for a child process that shares this test's database and media."""
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
            "MEDIA_ROOT": str(media_root),
            "DATA_DIR": str(media_root.parent / "data"),
            "DB_CONN_MAX_AGE": "0",
            "TRAINING_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if redis:
        env["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
        env["REDIS_KEY_PREFIX"] = extra.pop("REDIS_KEY_PREFIX", f"test-{uuid.uuid4().hex[:8]}")
    env.update(extra)
    return env


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


def start_web(env, log_dir, name="web") -> tuple[Process, str]:
    port = free_port()
    process = Process(
        name,
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "defect_platform.asgi:application",
        ],
        env,
        log_dir,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/healthz", process)
    return process, url


def start_worker(env, log_dir, name="worker") -> Process:
    return Process(
        name,
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "defect_platform",
            "worker",
            "-Q",
            "default,training",
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "--loglevel",
            "INFO",
            "--hostname",
            f"{name}-{uuid.uuid4().hex[:6]}@%h",
        ],
        env,
        log_dir,
    )


def wait_http(url: str, process: Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.output()}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s:\n{process.output()}")
