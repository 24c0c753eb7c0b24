"""What stays on disk of inspected objects: every verdict row, the masks, and the view images
of all NG and not-inspectable objects plus a sample of OK ones, within a disk cap.

The OK sample is a stable hash of the record id, so a record's fate does not depend on when it
is asked; the cap removes the oldest OK images first, then the oldest others, and keeps the
rows (`pruned_at` says when the image went).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import cv2
import numpy as np
from django.db.models import Sum
from django.utils import timezone

from defect_platform.core.storage import delete_quietly, save_bytes, unique_name
from inspection.models import RecordView

JPEG_QUALITY = 90


def sampled(record_id: int, share: float) -> bool:
    digest = hashlib.sha256(f"record-view-{record_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def keeps_images(record_id: int, verdict: str, ok_share: float) -> bool:
    return verdict != "ok" or sampled(record_id, ok_share)


def encode_jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    if not ok:
        raise ValueError("the view could not be encoded as JPEG")
    return data.tobytes()


def store_views(
    record,
    views: list[tuple[str, np.ndarray]],
    times: dict[str, datetime],
    keep: bool,
    written: list[str],
) -> None:
    """A RecordView row per camera; the JPEG only when `keep`. Files written are appended to
    `written` as they are, so a failure half-way can remove them."""
    for camera, image in views:
        name, size = "", 0
        if keep:
            data = encode_jpeg(image)
            name = save_bytes(unique_name(f"records/{record.pk}", ".jpg"), data)
            written.append(name)
            size = len(data)
        RecordView.objects.create(
            record=record,
            camera=camera,
            captured_at=times.get(camera),
            file=name,
            size_bytes=size,
            pruned_at=None if keep else timezone.now(),
        )


def stored_bytes() -> int:
    return RecordView.objects.exclude(file="").aggregate(n=Sum("size_bytes"))["n"] or 0


def enforce_cap(max_bytes: int, batch: int = 500) -> int:
    """Remove view images, oldest OK first, until the stored ones fit in `max_bytes`.
    Returns how many were removed."""
    over = stored_bytes() - max_bytes
    removed = 0
    for verdicts in (["ok"], ["ng", "not_inspectable"]):
        while over > 0:
            oldest = list(
                RecordView.objects.exclude(file="")
                .filter(record__verdict__in=verdicts)
                .order_by("record_id", "pk")[:batch]
            )
            if not oldest:
                break
            for view in oldest:
                if over <= 0:
                    break
                delete_quietly(view.file.name)
                RecordView.objects.filter(pk=view.pk).update(file="", pruned_at=timezone.now())
                over -= view.size_bytes
                removed += 1
    return removed
