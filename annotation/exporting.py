"""A project's labels as a zip the importer reads back: images with COCO JSON, a VIA project,
or mask PNGs (see formats/export.py for what each keeps)."""

from __future__ import annotations

import contextlib
import errno
import io
import re
import tempfile
import zipfile
from pathlib import PurePosixPath

import numpy as np
from django.conf import settings
from PIL import Image as PILImage

from annotation.formats import export
from annotation.models import LabelVersion
from annotation.services import training_labels, version_mask
from defect_platform.core.storage import StorageFull, read_bytes


def _safe_name(image) -> str:
    source = PurePosixPath(image.source_name or image.file.name).name
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", PurePosixPath(source).stem)[:80] or "image"
    return f"{image.pk:06d}-{stem}{PurePosixPath(image.file.name).suffix.lower()}"


def export_zip(project, fmt: str, snapshot=None):
    """A temporary file holding the zip (rewound), and how many images it holds. The labels
    are the ones training uses now (unsure images are left out), or with `snapshot` (a
    DatasetSnapshot of the project) the images and label versions it froze, each marked
    train or validation."""
    if fmt not in export.FORMATS:
        raise ValueError(f"format must be one of {export.FORMATS}")
    if snapshot is not None and snapshot.project_id != project.pk:
        raise ValueError("the snapshot belongs to another project")
    if snapshot is None:
        labels = training_labels(project)
    else:
        from training.services import dataset_labels

        labels = dataset_labels(snapshot)
    held_out = set(snapshot.validation) if snapshot is not None else set()
    images = project.images.filter(pk__in=list(labels)).order_by("pk")
    # Handed to the response, which closes it when sent. Past EXPORT_MEMORY_MB it spills to
    # an unlinked temporary file: a full disk leaves nothing behind.
    in_memory = settings.EXPORT_MEMORY_MB * 1024 * 1024 or 1  # max_size 0 would mean no limit
    out = tempfile.SpooledTemporaryFile(max_size=in_memory)  # noqa: SIM115
    try:
        return _write_zip(out, project, fmt, snapshot, labels, images, held_out)
    except OSError as exc:
        with contextlib.suppress(OSError):  # closing flushes, and the disk is still full
            out.close()
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFull(f"the {fmt} export of {project.name}") from exc
        raise


def _write_zip(out, project, fmt, snapshot, labels, images, held_out):
    entries, manifest = [], []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for image in images:
            name = f"images/{_safe_name(image)}"
            zf.writestr(name, read_bytes(image.file.name))
            version = labels[image.pk]
            mask = None
            if version.kind == LabelVersion.Kind.MASK:
                mask = version_mask(version, image.height, image.width)
            split = None
            if snapshot is not None:
                split = "validation" if image.pk in held_out else "train"
            entries.append(export.Entry(name, image.width, image.height, mask, split))
            if fmt == "masks":
                blank = np.zeros((image.height, image.width), np.uint8)
                mask_name = f"masks/{PurePosixPath(name).stem}.png"
                zf.writestr(mask_name, _png(blank if mask is None else mask))
                binary_name = mask_name
                if version.is_soft and mask is not None:
                    # The same label thresholded as training and COCO do; its name pairs with
                    # no image, so import reads the soft mask and lists this one as ignored.
                    binary_name = f"masks/{PurePosixPath(name).stem}{export.BINARY_SUFFIX}.png"
                    zf.writestr(binary_name, _png(np.where(mask >= 128, 255, 0).astype(np.uint8)))
                manifest.append(
                    {
                        "image": name,
                        **({"split": split} if split else {}),
                        "mask": mask_name,
                        "binary_mask": binary_name,
                        "kind": version.kind,
                        "soft": version.is_soft,
                        "label_version": version.pk,
                        "author": version.author.username,
                        "source_name": image.source_name,
                        "sha256": image.sha256,
                        "width": image.width,
                        "height": image.height,
                    }
                )
        if fmt == "coco":
            document = export.coco_document(entries, project.name)
            if snapshot is not None:
                document["info"]["snapshot"] = _snapshot_info(snapshot)
            zf.writestr("annotations/instances.json", export.to_json(document))
        elif fmt == "via":
            zf.writestr("via_project.json", export.to_json(export.via_document(entries)))
        else:
            document = {"project": project.name, "slug": project.slug, "items": manifest}
            if snapshot is not None:
                document["snapshot"] = _snapshot_info(snapshot)
            zf.writestr("manifest.json", export.to_json(document))
    out.seek(0)
    return out, len(entries)


def _png(mask: np.ndarray) -> bytes:
    png = io.BytesIO()
    PILImage.fromarray(mask, mode="L").save(png, "PNG")
    return png.getvalue()


def _snapshot_info(snapshot) -> dict:
    return {
        "id": snapshot.pk,
        "digest": snapshot.digest,
        "seed": snapshot.seed,
        "val_fraction": snapshot.val_fraction,
        "created_at": snapshot.created_at.isoformat(),
    }
