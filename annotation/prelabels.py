"""Pre-labels: the project's current model proposes a mask for each image nobody has labelled,
so annotators correct instead of painting from nothing, and the queue sends the images the model
is least sure about first (those teach the next model the most)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annotation.imaging import encode_png, to_rgb_array
from annotation.models import Image, PreLabel
from annotation.review import people_labels
from defect_platform.core.events import notify
from defect_platform.core.storage import delete_quietly, read_bytes, save_bytes, unique_name

# Probabilities in this band are the model's "don't know".
UNSURE_BAND = (0.3, 0.7)
BATCH = 8


@dataclass
class PreLabelReport:
    model_version: int
    created: int
    skipped: int


def uncertainty(probs: np.ndarray) -> float:
    low, high = UNSURE_BAND
    return float(((probs >= low) & (probs <= high)).mean())


def run(project, limit: int | None = None) -> PreLabelReport:
    """Propose masks for the project's unlabelled images that have no proposal from the
    current model yet. Raises registry.NoModel when the project has no model."""
    from training import registry

    version = registry.model_for_project(project)
    model = registry.load(version)
    todo = (
        Image.objects.filter(project=project)
        .exclude(pk__in=people_labels(project.pk).values("image"))
        .exclude(prelabel__model_version=version)
        .order_by("pk")
    )
    if limit is not None:
        todo = todo[:limit]
    created = skipped = 0
    pending = list(todo)
    for start in range(0, len(pending), BATCH):
        chunk = pending[start : start + BATCH]
        pixels = []
        for image in chunk:
            try:
                pixels.append(to_rgb_array(read_bytes(image.file.name)))
            except OSError:
                pixels.append(None)
        readable = [(im, px) for im, px in zip(chunk, pixels, strict=True) if px is not None]
        skipped += len(chunk) - len(readable)
        probs = model.predict([px for _, px in readable]) if readable else []
        for (image, _), prob in zip(readable, probs, strict=True):
            _store(image, version, prob)
            created += 1
    notify(project.pk, "prelabels.done", {"model_version": version.pk, "created": created})
    return PreLabelReport(version.pk, created, skipped)


def _store(image: Image, version, probs: np.ndarray) -> None:
    grey = np.rint(np.clip(probs, 0.0, 1.0) * 255).astype(np.uint8)
    name = save_bytes(
        unique_name(f"projects/{image.project_id}/prelabels", ".png"), encode_png(grey)
    )
    old = PreLabel.objects.filter(image=image).values_list("mask", flat=True).first()
    try:
        PreLabel.objects.update_or_create(
            image=image,
            defaults={
                "model_version": version,
                "mask": name,
                "uncertainty": uncertainty(probs),
                "max_probability": float(probs.max()),
            },
        )
    except BaseException:
        delete_quietly(name)
        raise
    if old:
        delete_quietly(old)
