"""Importing datasets: folders, zip archives, images with their masks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction

from annotation.formats import regions as region_files
from annotation.formats.archive import ArchiveRejected, open_archive
from annotation.formats.pairing import Item, pair, pair_with_regions
from annotation.imaging import ImageRejected, decode_mask, encode_png
from annotation.models import Label
from annotation.services import add_image, save_label
from defect_platform.core.events import notify
from defect_platform.core.storage import delete_quietly

log = logging.getLogger(__name__)
MASK_MODES = ("binary", "soft")


@dataclass
class ImportReport:
    mask_mode: str
    images: int = 0
    created: int = 0
    duplicates: int = 0
    labelled: int = 0
    negatives: int = 0
    errors: list[dict] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def import_items(
    project,
    user,
    items: list[Item],
    read: Callable[[str], bytes],
    mask_mode: str,
    progress: Callable[[int, int], None] | None = None,
    *,
    report: ImportReport | None = None,
    start: int = 0,
    checkpoint: Callable[[int, int, ImportReport], None] | None = None,
) -> ImportReport:
    """Import each item on its own; a bad one is reported and the others go on.

    Masks become labels of `user`: binary (>= 128 is defect) or soft (value/255). An all-zero
    mask makes the image a negative of the project.

    An item's rows (its image, its label, and whatever `checkpoint` records) commit together,
    so an item is in the project whole or not at all; its files are written before the rows
    and removed again when the item fails. `start` skips the items a killed run already
    committed, continuing its `report`.
    """
    if mask_mode not in MASK_MODES:
        raise ValueError(f"mask mode must be one of {MASK_MODES}")
    report = report or ImportReport(mask_mode)
    for n, item in enumerate(items, 1):
        if n <= start:
            continue
        written: list[str] = []
        try:
            with transaction.atomic():
                _import_item(project, user, item, read, mask_mode, report, written)
                if checkpoint:
                    checkpoint(n, len(items), report)
        except BaseException:
            for name in written:
                delete_quietly(name)
            raise
        if progress:
            progress(n, len(items))
    notify(project.pk, "images.imported", report.as_dict() | {"errors": len(report.errors)})
    return report


def _import_item(project, user, item: Item, read, mask_mode: str, report, written) -> None:
    try:
        image, created = add_image(project, read(item.image), item.source_name, user)
    except (ImageRejected, OSError, ArchiveRejected) as exc:
        report.errors.append({"name": item.image, "reason": str(exc)})
        return
    if created:
        written.append(image.file.name)
    report.images += 1
    report.created += created
    report.duplicates += not created
    if Label.objects.filter(image=image, annotator=user).exists():
        return  # imported before (this archive again, or a resumed job): keep what is there
    if item.regions is not None:
        try:
            mask = region_files.rasterise(item.regions, image.height, image.width)
            _save_mask_label(image, user, mask, "binary", report, written)
        except region_files.RegionsRejected as exc:
            report.errors.append({"name": item.image, "reason": str(exc)})
    elif item.mask:
        try:
            _label_from_mask(image, user, read(item.mask), mask_mode, report, written)
        except (ImageRejected, OSError, ArchiveRejected) as exc:
            report.errors.append({"name": item.mask, "reason": str(exc)})


def _label_from_mask(image, user, data: bytes, mask_mode: str, report, written) -> None:
    mask = decode_mask(data, image.width, image.height, soft=mask_mode == "soft")
    _save_mask_label(image, user, mask, mask_mode, report, written)


def _save_mask_label(image, user, mask, mask_mode: str, report, written) -> None:
    if mask.max() < (128 if mask_mode == "binary" else 1):
        save_label(image, user, "negative", None, False, None)
        report.negatives += 1
    else:
        version = save_label(image, user, "mask", encode_png(mask), mask_mode == "soft", None)
        written.append(version.mask.name)
        report.labelled += 1


def collect(
    paths: list[str], read: Callable[[str], bytes], category: str | None = None
) -> tuple[list[Item], list[str], list[dict]]:
    """Items to import from a file tree: images named by COCO/VIA annotation files with their
    regions, the other images paired with mask files; (items, ignored, errors)."""
    items, errors, rest = [], [], list(paths)
    for path in [p for p in paths if p.lower().endswith(".json")]:
        try:
            data = read(path)
            kind = region_files.detect(data)
            if kind is None:
                continue
            annotated = region_files.parse(data, category)
        except (region_files.RegionsRejected, OSError, ArchiveRejected) as exc:
            errors.append({"name": path, "reason": str(exc)})
            rest.remove(path)
            continue
        found, rest_images, missing = pair_with_regions(rest, annotated, path)
        items += found
        errors += missing
        taken = {i.image for i in found} | {path}
        rest = [p for p in rest if p not in taken]
        log.info("%s: %s file with %d images", path, kind, len(annotated))
    paired, ignored = pair(rest)
    return items + paired, ignored, errors


def import_folder(
    project, user, root: Path, mask_mode: str = "binary", progress=None, category=None
):
    root = root.resolve()
    paths = [
        p.relative_to(root).as_posix()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and p.resolve().is_relative_to(root)
    ]

    def read(rel: str) -> bytes:
        return (root / rel).read_bytes()

    items, ignored, errors = collect(paths, read, category)
    report = import_items(project, user, items, read, mask_mode, progress)
    report.errors = errors + report.errors
    report.ignored = ignored
    return report


def import_zip(
    project, user, data: bytes | BinaryIO, mask_mode: str = "binary", progress=None, category=None
):
    """Import a zip (its bytes or a seekable file) within this process."""
    archive = open_archive(data, settings.MAX_IMPORT_BYTES)
    try:
        items, ignored, errors = collect(list(archive.members), archive.read, category)
        report = import_items(project, user, items, archive.read, mask_mode, progress)
    finally:
        archive.close()
    report.errors = archive.rejected + errors + report.errors
    report.ignored = ignored
    return report
