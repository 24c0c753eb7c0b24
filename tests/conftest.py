"""Shared fixtures: users in each role of a project, API clients, a tiny trained model."""

from __future__ import annotations

import copy
import hashlib
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from rest_framework.test import APIClient

from defect_platform.core.models import Membership, Project
from defect_platform.core.roles import Role

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MAGNETIC_TILE = SHARED / "datasets" / "magnetic-tile"


def require_shared(path: Path) -> Path:
    """Skip (or fail under REQUIRE_SHARED_DATA=1) when shared test data is absent."""
    if path.exists():
        return path
    message = f"shared data {path} is absent"
    if os.environ.get("REQUIRE_SHARED_DATA") == "1":
        pytest.fail(f"{message} but REQUIRE_SHARED_DATA=1")
    pytest.skip(message)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Browser tests last (after pytest-django's own ordering): Playwright's sync API keeps
    an event loop running in the main thread until the session ends, and asyncio.run() in
    any test after it would fail."""
    browser = [item for item in items if "tests/browser/" in item.nodeid]
    others = [item for item in items if "tests/browser/" not in item.nodeid]
    items[:] = others + browser


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    yield
    # Server threads of websocket tests may still hold a connection; the test database can only
    # be dropped without them.
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Tests train from scratch whatever a developer's Hugging Face cache holds.
    settings.PRETRAINED_FROM_HF_CACHE = False


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    """A zip archive holding `entries` (name -> content), compressed."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def make_image(seed: int, size=(64, 64)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (*size, 3), dtype=np.uint8)


@pytest.fixture
def project(db):
    return Project.objects.create(
        name="Crack", slug="crack", input_height=64, input_width=64, min_defect_area=4
    )


@pytest.fixture
def other_project(db):
    return Project.objects.create(name="Spot", slug="spot")


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, role: str | None = None, project=None, staff=False):
        user = django_user_model.objects.create_user(username, password="pw-12345678")
        user.is_staff = staff
        user.save()
        if role:
            Membership.objects.create(user=user, project=project, role=role)
        return user

    return make


@pytest.fixture
def owner(make_user, project):
    return make_user("owner", Role.OWNER, project)


@pytest.fixture
def annotator(make_user, project):
    return make_user("annotator", Role.ANNOTATOR, project)


@pytest.fixture
def inspector(make_user, project):
    return make_user("inspector", Role.INSPECTOR, project)


@pytest.fixture
def outsider(make_user, other_project):
    return make_user("outsider", Role.OWNER, other_project)


@pytest.fixture
def client_for():
    def make(user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def labelled_project(project, owner):
    """The project with 6 images: 4 with a bright square defect, 2 negatives."""
    from annotation.services import add_image, save_label

    for i in range(6):
        pixels = make_image(i)
        mask = np.zeros((64, 64), dtype=np.uint8)
        if i < 4:
            pixels[20:36, 20:36] = 255
            mask[20:36, 20:36] = 255
        image, _ = add_image(project, png_bytes(pixels), f"img{i}.png", owner)
        if i < 4:
            save_label(image, owner, "mask", png_bytes(mask), False, None)
        else:
            save_label(image, owner, "negative", None, False, None)
    return project


TINY_JOB = {"epochs": 2, "batch_size": 2, "lr": 0.01, "seed": 0, "max_steps_per_epoch": 2}


# The accuracy gate's results by everything it is given: see trained_model.
_GATES: dict[str, tuple] = {}


def _remembered_gate(prepare):
    def gate(onnx, images, masks, *rest, weights=None):
        # The torch weights are the export's own: the ONNX bytes already identify the model.
        digest = hashlib.sha256(onnx)
        for array in (*images, *masks):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(repr(rest).encode())
        key = digest.hexdigest()
        if key not in _GATES:
            _GATES[key] = prepare(onnx, images, masks, *rest, weights=weights)
        return copy.deepcopy(_GATES[key])

    return gate


@pytest.fixture
def trained_model(labelled_project, owner, django_capture_on_commit_callbacks, monkeypatch):
    """A tiny model trained through a real job run in this process.

    Every test's labelled project holds the same pixels and the job the same seeded
    parameters, so the export is the same bytes each time and the accuracy gate (quantizing
    and judging four runtimes: most of the job's time) gives the same answer: it is computed
    once per session for those exact inputs. Everything else runs every time."""
    from training import services
    from training.ml import runtime_gate

    monkeypatch.setattr(runtime_gate, "prepare", _remembered_gate(runtime_gate.prepare))
    with django_capture_on_commit_callbacks(execute=False):
        job = services.create_job(labelled_project, owner, dict(TINY_JOB))
    services.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.log
    return job.model_version
