"""Saving a label through the API, as the editor does: a soft mask PNG (the soft brush's
probabilities) posted against the version it edits, decoded, checked, stored durably and
recorded as a new version.

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
from PIL import Image as PILImage

from annotation.imaging import encode_png
from annotation.models import LabelVersion
from annotation.services import add_image
from defect_platform.bench.timing import median_ms
from defect_platform.core.models import Membership, Project

# The soft brush's common levels (0.25, 0.5, 0.75, 1) as stored bytes.
SOFT_LEVELS = (64, 128, 191, 255)


class _Rollback(Exception):
    pass


def _strokes(shape, seed) -> np.ndarray:
    """A soft mask like the soft brush leaves: a few thick strokes, each at one level."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, np.uint8)
    h, w = shape
    for stroke in range(5):
        points = rng.integers(0, [w, h], (6, 2)).astype(np.int32)
        level = SOFT_LEVELS[stroke % len(SOFT_LEVELS)]
        cv2.polylines(mask, [points], False, level, thickness=max(3, min(h, w) // 40))
    return mask


def _check_stored_soft(version_id: int, sent: np.ndarray) -> None:
    """The saved version is soft and holds the mask as sent, in-between values included (a
    binary save would have thresholded them)."""
    version = LabelVersion.objects.get(pk=version_id)
    with version.mask.open("rb") as f:
        stored = np.asarray(PILImage.open(f))
    between = int(np.count_nonzero((stored > 0) & (stored < 255)))
    if not (version.is_soft and between and np.array_equal(stored, sent)):
        raise RuntimeError(
            f"the soft save was stored as soft={version.is_soft} with {between} in-between "
            "values, not as sent"
        )


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
                sent = [_strokes(shape, seed) for seed in range(repeats + 1)]
                masks = [encode_png(mask) for mask in sent]
                state = {"base": None, "n": 0}

                def save(image=image, masks=masks, state=state):
                    data = {
                        "kind": "mask",
                        "soft": "true",
                        "mask": SimpleUploadedFile("m.png", masks[state["n"]]),
                    }
                    if state["base"]:
                        data["base_version"] = state["base"]
                    response = client.post(f"/api/images/{image.pk}/labels/", data)
                    if response.status_code != 201:
                        raise RuntimeError(f"label save failed: {response.status_code}")
                    state["base"], state["n"] = response.json()["id"], state["n"] + 1

                figures[f"annotation.save_ms_{key}"] = median_ms(save, repeats)
                _check_stored_soft(state["base"], sent[state["n"] - 1])
            figures["annotation.save_masks"] = "soft"
            raise _Rollback
    except _Rollback:
        pass
    return figures
