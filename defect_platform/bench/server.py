"""A private embedded platform (SQLite, in-memory channel layer, stations in the web process)
started in a temporary folder for the serving benchmarks, and stopped afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from defect_platform.bench import memory, variants
from defect_platform.core.processes import ROOT, start_web
from training.ml.artifact import weights_bytes
from training.ml.meta import ModelMeta

# Settings that would point the private server at this installation's shared services.
_SHARED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MEDIA_ROOT")


@contextmanager
def serving(engine, model_config, cameras: int, fps: float, threads: int, copies):
    """Yields (base_url, fixture ids) of a running server whose station checks one defect
    project per artifact in `copies` (bench/variants.py; the first is `engine`'s own)."""
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
            **memory.SERVING_ENV,
        }
        (root / "data").mkdir()
        (root / "model.pt").write_bytes(weights_bytes(engine.model))
        variants.write(root, copies)
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
            "projects": len(copies),
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
        web, url = start_web(env, root)
        try:
            yield url, ids
        finally:
            web.stop()
