"""Saving a label through the API, as the editor does: a mask PNG posted against the version it
edits, decoded, checked, stored durably and recorded as a new version.

Runs inside a transaction that is rolled back, with media in a temporary folder, so the
benchmark leaves nothing behind in the platform's data.
"""

from __future__ import annotations

import tempfile
import uuid

import cv2
import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings

from annotation.imaging import encode_png
from annotation.services import add_image
from defect_platform.bench.timing import median_ms
from defect_platform.core.models import Membership, Project


class _Rollback(Exception):
    pass


def _strokes(shape, seed) -> np.ndarray:
    """A mask like a brush leaves: a few thick strokes."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, np.uint8)
    h, w = shape
    for _ in range(5):
        points = rng.integers(0, [w, h], (6, 2)).astype(np.int32)
        cv2.polylines(mask, [points], False, 255, thickness=max(3, min(h, w) // 40))
    return mask


def _host() -> str:
    hosts = [h for h in settings.ALLOWED_HOSTS if h not in ("*", "") and not h.startswith(".")]
    return hosts[0] if hosts else "localhost"


def measure(sizes: dict[str, tuple[int, int]], repeats: int) -> dict:
    figures = {}
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-media-") as media,
            override_settings(MEDIA_ROOT=media),
            transaction.atomic(),
        ):
            user = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:8]}")
            project = Project.objects.create(
                name="bench", slug=f"bench-{uuid.uuid4().hex[:8]}", created_by=user
            )
            Membership.objects.create(project=project, user=user, role="owner")
            client = Client(HTTP_HOST=_host())
            client.force_login(user)
            for key, shape in sizes.items():
                pixels = np.random.default_rng(0).integers(0, 255, (*shape, 3), dtype=np.uint8)
                image, _ = add_image(
                    project, cv2.imencode(".png", pixels)[1].tobytes(), f"{key}.png", user
                )
                masks = [encode_png(_strokes(shape, seed)) for seed in range(repeats + 1)]
                state = {"base": None, "n": 0}

                def save(image=image, masks=masks, state=state):
                    data = {"kind": "mask", "mask": SimpleUploadedFile("m.png", masks[state["n"]])}
                    if state["base"]:
                        data["base_version"] = state["base"]
                    response = client.post(f"/api/images/{image.pk}/labels/", data)
                    if response.status_code != 201:
                        raise RuntimeError(f"label save failed: {response.status_code}")
                    state["base"], state["n"] = response.json()["id"], state["n"] + 1

                figures[f"annotation.save_ms_{key}"] = median_ms(save, repeats)
            raise _Rollback
    except _Rollback:
        pass
    return figures
