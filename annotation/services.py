"""Image uploads and label saves: validated, durable, versioned."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from PIL import Image as PILImage

from annotation.imaging import ImageRejected, decode_image, decode_mask, encode_png
from annotation.models import Image, Label, LabelVersion
from defect_platform.core.events import notify
from defect_platform.core.storage import delete_quietly, read_bytes, save_bytes, unique_name


@dataclass
class UploadReport:
    created: list[Image] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


def add_image(project, data: bytes, source_name: str, user, metadata: dict | None = None):
    """Store one image; returns (image, created). Raises ImageRejected for unusable files."""
    decoded = decode_image(data, settings.MAX_IMAGE_PIXELS)
    digest = hashlib.sha256(data).hexdigest()
    existing = Image.objects.filter(project=project, sha256=digest).first()
    if existing:
        return existing, False
    name = save_bytes(unique_name(f"projects/{project.pk}/images", decoded.suffix), data)
    try:
        with transaction.atomic():
            image = Image.objects.create(
                project=project,
                file=name,
                sha256=digest,
                width=decoded.width,
                height=decoded.height,
                mode=decoded.mode,
                source_name=source_name[:255],
                metadata=metadata or {},
                uploaded_by=user,
            )
    except IntegrityError:  # the same file uploaded concurrently
        delete_quietly(name)
        return Image.objects.get(project=project, sha256=digest), False
    except BaseException:
        delete_quietly(name)
        raise
    return image, True


def upload_images(project, files, user) -> UploadReport:
    """Import each file on its own: good ones are kept, bad ones reported with the reason."""
    report = UploadReport()
    for upload in files:
        name = getattr(upload, "name", "upload")
        try:
            image, created = add_image(project, upload.read(), name, user)
        except ImageRejected as exc:
            report.errors.append({"name": name, "reason": str(exc)})
            continue
        if created:
            report.created.append(image)
        else:
            report.duplicates.append({"name": name, "existing_id": image.pk})
    if report.created:
        notify(project.pk, "images.added", {"count": len(report.created)})
    return report


class StaleVersion(Exception):
    def __init__(self, current: LabelVersion | None):
        super().__init__("The label changed since you loaded it.")
        self.current = current


def save_label(
    image: Image, user, kind: str, mask_png: bytes | None, soft: bool, base_version_id: int | None
) -> LabelVersion:
    """Add a new immutable version of `user`'s label for `image`.

    `base_version_id` names the version the edit started from (None for a first save); if the
    label moved on since, StaleVersion carries the current version and nothing is written.
    """
    mask_name, positive = "", 0
    if kind == LabelVersion.Kind.MASK:
        if mask_png is None:
            raise ImageRejected("A mask label needs a mask PNG.")
        mask = decode_mask(mask_png, image.width, image.height, soft)
        positive = int((mask >= 128).sum())
        mask_name = save_bytes(
            unique_name(f"projects/{image.project_id}/masks", ".png"), encode_png(mask)
        )
    try:
        with transaction.atomic():
            label, _ = Label.objects.select_for_update().get_or_create(image=image, annotator=user)
            current = label.current_version
            if (current.pk if current else None) != base_version_id:
                raise StaleVersion(current)
            version = LabelVersion.objects.create(
                label=label,
                number=(current.number + 1) if current else 1,
                parent=current,
                author=user,
                kind=kind,
                is_soft=soft and kind == LabelVersion.Kind.MASK,
                mask=mask_name,
                positive_pixels=positive,
            )
            label.current_version = version
            label.save(update_fields=["current_version", "updated_at"])
    except BaseException:
        delete_quietly(mask_name)
        raise
    notify(image.project_id, "label.saved", {"image": image.pk, "version": version.pk})
    return version


def training_labels(project) -> dict[int, LabelVersion]:
    """Image id -> the label version training uses: the most recently saved one, unsure excluded.

    (Consensus of several annotators replaces this rule in the annotation workflow.)
    """
    labels = (
        Label.objects.filter(image__project=project, current_version__isnull=False)
        .select_related("current_version")
        .order_by("updated_at", "pk")
    )
    chosen = {label.image_id: label.current_version for label in labels}
    return {k: v for k, v in chosen.items() if v.kind != LabelVersion.Kind.UNSURE}


def annotator_masks(images) -> dict[int, dict[str, np.ndarray]]:
    """{image id: {annotator: mask}} of each annotator's current label; a negative is an
    all-zero mask, unsure labels are left out (they take no side)."""
    labels = (
        Label.objects.filter(image__in=images, current_version__isnull=False)
        .exclude(current_version__kind=LabelVersion.Kind.UNSURE)
        .select_related("image", "annotator", "current_version")
    )
    out: dict[int, dict[str, np.ndarray]] = {}
    for label in labels:
        version, image = label.current_version, label.image
        if version.kind == LabelVersion.Kind.MASK:
            mask = np.asarray(PILImage.open(io.BytesIO(read_bytes(version.mask.name))))
        else:
            mask = np.zeros((image.height, image.width), np.uint8)
        out.setdefault(image.pk, {})[label.annotator.username] = mask
    return out
