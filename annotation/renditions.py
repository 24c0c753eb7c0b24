"""What the editor loads for an image: the stored file when a browser can show it, or else
an 8-bit PNG made once and kept (browsers show no TIFF, and 16-bit greys look wrong)."""

from __future__ import annotations

import contextlib
from pathlib import PurePosixPath

from django.core.files.storage import default_storage

from annotation.imaging import browser_rendition, browser_shows
from defect_platform.core.storage import read_bytes, save_bytes


def displayable(image) -> tuple[str, str | None]:
    """(stored file name, content type or None to guess it from the name) for `image`."""
    if browser_shows(PurePosixPath(image.file.name).suffix, image.mode):
        return image.file.name, None
    # Named by content, in a folder of its own: the same image always finds its copy, and
    # the import's sweep of unnamed files in images/ never takes it for a leftover.
    name = f"projects/{image.project_id}/renditions/{image.sha256}.png"
    if not default_storage.exists(name):
        # A concurrent request may make the same copy first; either one serves.
        with contextlib.suppress(FileExistsError):
            name = save_bytes(name, browser_rendition(read_bytes(image.file.name)))
    return name, "image/png"
