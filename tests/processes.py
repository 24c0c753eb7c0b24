"""Starting the platform's real processes (ASGI server, Celery worker, station worker) for
integration tests, against the test database, and stopping them afterwards."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from django.db import connection

from defect_platform.core.processes import ROOT, Process, free_port, start_web, wait_http

__all__ = [
    "ROOT",
    "Process",
    "free_port",
    "service_env",
    "start_station",
    "start_web",
    "start_worker",
    "wait_http",
]


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
            "PRETRAINED_FROM_HF_CACHE": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if redis:
        env["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
        env["REDIS_KEY_PREFIX"] = extra.pop("REDIS_KEY_PREFIX", f"test-{uuid.uuid4().hex[:8]}")
    env.update(extra)
    return env


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


def start_station(env, log_dir, station_id: int, name="station") -> Process:
    """`manage.py run_station`, as the deploy process file runs it in scaled-out mode."""
    return Process(
        name, [sys.executable, "manage.py", "run_station", str(station_id)], env, log_dir
    )
