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
from defect_platform.core.storage import (
    StorageFull,
    delete_quietly,
    read_bytes,
    save_bytes,
    unique_name,
)


@dataclass
class UploadReport:
    created: list[Image] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    storage_full: bool = False


def add_image(project, data: bytes, source_name: str, user, metadata: dict | None = None):
    """Store one image; returns (image, created). Raises ImageRejected for unusable files.

    Its metadata keeps the source name, and the camera and capture time when the file's EXIF
    holds them; what the caller passes in `metadata` (a station's camera name) wins.
    """
    decoded = decode_image(data, settings.MAX_IMAGE_PIXELS)
    metadata = {"source": source_name[:255], **decoded.metadata, **(metadata or {})}
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
                metadata=metadata,
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
        if report.storage_full:
            report.errors.append({"name": name, "reason": "not tried: the storage is full"})
            continue
        try:
            image, created = add_image(project, upload.read(), name, user)
        except ImageRejected as exc:
            report.errors.append({"name": name, "reason": str(exc)})
            continue
        except StorageFull as exc:
            # The files before this one are kept; the caller learns which were not.
            report.storage_full = True
            report.errors.append({"name": name, "reason": exc.strerror})
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
            # An edit reopens review: what a reviewer saw is no longer what the label holds.
            label.state = Label.State.IN_PROGRESS
            label.save(update_fields=["current_version", "state", "updated_at"])
    except BaseException:
        delete_quietly(mask_name)
        raise
    notify(image.project_id, "label.saved", {"image": image.pk, "version": version.pk})
    return version


CONSENSUS_USER = "consensus"


def consensus_user():
    """The system account that authors consensus labels (it cannot log in)."""
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(
        username=CONSENSUS_USER, defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def training_labels(project) -> dict[int, LabelVersion]:
    """Image id -> the label version training uses.

    A version a reviewer accepted comes first (the latest acceptance when several were):
    that is how a reviewer overrides the consensus. Otherwise, with two or more annotators'
    labels, their consensus: the mean of their masks, a soft label (k of n annotators painting
    a pixel gives it k/n), kept as a version of the consensus account's label so snapshots can
    name it. With one annotator, that label. Unsure labels take no side; an image with only
    unsure labels is left out.
    """
    system = consensus_user()
    labels = (
        Label.objects.filter(image__project=project, current_version__isnull=False)
        .select_related("image", "current_version", "accepted_version")
        .order_by("updated_at", "pk")
    )
    by_image: dict[int, list[Label]] = {}
    for label in labels:
        by_image.setdefault(label.image_id, []).append(label)
    chosen = {}
    for image_id, group in by_image.items():
        accepted = [lb for lb in group if lb.accepted_version_id and lb.annotator_id != system.pk]
        if accepted:
            chosen[image_id] = max(accepted, key=lambda lb: lb.accepted_at).accepted_version
            continue
        people = [
            label
            for label in group
            if label.annotator_id != system.pk
            and label.current_version.kind != LabelVersion.Kind.UNSURE
        ]
        if len(people) >= 2:
            existing = next((lb for lb in group if lb.annotator_id == system.pk), None)
            chosen[image_id] = _consensus_version(people, system, existing)
        elif people:
            chosen[image_id] = people[0].current_version
    return chosen


def version_mask(version: LabelVersion, height: int, width: int) -> np.ndarray:
    """A label version as an HxW uint8 mask (value/255 = probability); a negative or unsure
    version is all zeros."""
    if version.kind == LabelVersion.Kind.MASK:
        return np.asarray(PILImage.open(io.BytesIO(read_bytes(version.mask.name))))
    return np.zeros((height, width), np.uint8)


def _label_mask(label: Label) -> np.ndarray:
    return version_mask(label.current_version, label.image.height, label.image.width)


def _consensus_version(people: list[Label], system, existing: Label | None) -> LabelVersion:
    from annotation.agreement import consensus

    soft = consensus([_label_mask(label) for label in people])
    current = existing.current_version if existing else None
    if current is not None:
        same_kind = current.kind == (
            LabelVersion.Kind.MASK if soft.any() else LabelVersion.Kind.NEGATIVE
        )
        if same_kind and (not soft.any() or np.array_equal(_label_mask(existing), soft)):
            return current  # annotators unchanged since: the same version, same snapshots
    image = people[0].image
    if soft.any():
        return save_label(image, system, "mask", encode_png(soft), True, current and current.pk)
    return save_label(image, system, "negative", None, False, current and current.pk)


def annotator_masks(images) -> dict[int, dict[str, np.ndarray]]:
    """{image id: {annotator: mask}} of each annotator's current label; a negative is an
    all-zero mask, unsure labels are left out (they take no side)."""
    labels = (
        Label.objects.filter(image__in=images, current_version__isnull=False)
        .exclude(current_version__kind=LabelVersion.Kind.UNSURE)
        .exclude(annotator__username=CONSENSUS_USER)
        .select_related("image", "annotator", "current_version")
    )
    out: dict[int, dict[str, np.ndarray]] = {}
    for label in labels:
        out.setdefault(label.image_id, {})[label.annotator.username] = _label_mask(label)
    return out


def accepted_masks(images) -> dict[int, tuple[str, np.ndarray]]:
    """{image id: (annotator, mask)} of the label a reviewer accepted last on each image."""
    labels = (
        Label.objects.filter(image__in=images, accepted_version__isnull=False)
        .select_related("image", "annotator", "accepted_version")
        .order_by("accepted_at")
    )
    return {
        label.image_id: (
            label.annotator.username,
            version_mask(label.accepted_version, label.image.height, label.image.width),
        )
        for label in labels  # later acceptances overwrite earlier ones
    }
