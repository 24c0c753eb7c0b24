"""What an image file says about its capture: the camera and the time (no Django here)."""

from __future__ import annotations

import contextlib
from datetime import datetime

from PIL import Image

MAKE, MODEL = 0x010F, 0x0110
EXIF_IFD = 0x8769
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 0x9003, 0x9011


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value or "").replace("\x00", "").strip()


def capture_time(text: str | None, offset: str | None = None) -> str | None:
    """An EXIF ("2024:05:01 13:45:10") or ISO capture time as ISO 8601, with its UTC offset
    when one is known; None for blank or impossible values (cameras write "0000:00:00 ...")."""
    text = _text(text)
    if len(text) >= 19 and text[4] == ":" and text[7] == ":":
        text = f"{text[:10].replace(':', '-')}T{text[11:19]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None and _text(offset):
        # An unreadable offset leaves the camera's local time, which is still true.
        with contextlib.suppress(ValueError):
            moment = datetime.fromisoformat(f"{moment.isoformat()}{_text(offset)}")
    return moment.isoformat()


def camera_and_time(img: Image.Image) -> dict:
    """{"camera": "<make> <model>", "captured_at": ISO 8601} with what the EXIF holds;
    {} for a file without EXIF."""
    try:
        exif = img.getexif()
        details = exif.get_ifd(EXIF_IFD)
    except Exception:  # damaged EXIF costs the metadata, never the image
        return {}
    found = {}
    make, model = _text(exif.get(MAKE)), _text(exif.get(MODEL))
    # Many cameras repeat the maker in the model ("Canon" + "Canon EOS R5").
    camera = model if make and model.lower().startswith(make.lower()) else f"{make} {model}"
    if camera.strip():
        found["camera"] = camera.strip()[:200]
    when = capture_time(details.get(DATETIME_ORIGINAL), details.get(OFFSET_TIME_ORIGINAL))
    if when:
        found["captured_at"] = when
    return found
