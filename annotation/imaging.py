"""Decoding and validation of uploaded images and masks (no Django models here)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, UnidentifiedImageError

from annotation.exif import camera_and_time

ACCEPTED_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp", "TIFF": ".tif"}
# What every browser's <img> shows as it is; anything else is served as an 8-bit PNG.
BROWSER_FORMATS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}
BROWSER_MODES = {"1", "L", "LA", "P", "PA", "RGB", "RGBA"}
WIDE_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}  # more than 8 bits a sample


class ImageRejected(ValueError):
    """An upload that is not a usable image; the message says why, for the user."""


@dataclass
class DecodedImage:
    data: bytes
    format: str
    mode: str
    width: int
    height: int
    metadata: dict = field(default_factory=dict)  # camera and capture time, when known

    @property
    def suffix(self) -> str:
        return ACCEPTED_FORMATS[self.format]


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise ImageRejected("The file is empty.")
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        # Pillow refuses headers claiming over twice its own pixel limit before we can.
        raise ImageRejected(f"Image is too large to open safely: {exc}") from None
    except UnidentifiedImageError:
        raise ImageRejected("Not an image file (or a format that is not supported).") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRejected(f"Unreadable image: {exc}") from None
    if img.width * img.height > max_pixels:
        raise ImageRejected(
            f"Image is {img.width}x{img.height} = {img.width * img.height} pixels; "
            f"the limit is {max_pixels}."
        )
    return img


def decode_image(data: bytes, max_pixels: int) -> DecodedImage:
    img = _open(data, max_pixels)
    if img.format not in ACCEPTED_FORMATS:
        raise ImageRejected(f"{img.format} images are not accepted; use JPEG, PNG, BMP or TIFF.")
    try:
        img.load()  # decodes fully: truncated files fail here, not later in training
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageRejected(f"The image is damaged or truncated: {exc}") from None
    return DecodedImage(data, img.format, img.mode, img.width, img.height, camera_and_time(img))


def _to_8bit(img: Image.Image) -> Image.Image:
    # Scaled by the image's maximum, not clipped: 12-bit sensors in 16-bit files would
    # otherwise come out black, and full-range 16-bit data would saturate.
    if img.mode not in WIDE_MODES:
        return img
    arr = np.asarray(img, dtype=np.float32)
    hi = float(arr.max()) if arr.size else 0.0
    scale = 255.0 / hi if hi > 0 else 0.0
    return Image.fromarray((arr * scale).clip(0, 255).astype(np.uint8))


def to_rgb_array(data: bytes) -> np.ndarray:
    """Any stored image (grayscale, RGBA, 16-bit) as an HxWx3 uint8 RGB array."""
    return np.asarray(_to_8bit(Image.open(io.BytesIO(data))).convert("RGB"))


def browser_shows(suffix: str, mode: str) -> bool:
    """Whether a browser displays a stored image as it is (JPEG, 8-bit PNG, BMP, ...);
    TIFF and 16-bit files need a rendition."""
    return suffix.lower() in BROWSER_FORMATS and mode in BROWSER_MODES


def browser_rendition(data: bytes) -> bytes:
    """A stored image as an 8-bit PNG that any browser shows, at the same size (the first
    page of a multi-page TIFF)."""
    img = _to_8bit(Image.open(io.BytesIO(data)))
    if img.mode not in BROWSER_MODES:
        img = img.convert("RGB")  # CMYK, YCbCr, LAB
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def decode_mask(data: bytes, width: int, height: int, soft: bool) -> np.ndarray:
    """A mask upload as an HxW uint8 array (0 = no defect, 255 = defect, between = probability).

    Binary masks are thresholded at 128 so anti-aliased edges do not become soft labels.
    """
    img = _open(data, width * height + 1)
    if img.format != "PNG":
        raise ImageRejected("Masks must be PNG files (lossless).")
    if (img.width, img.height) != (width, height):
        raise ImageRejected(
            f"The mask is {img.width}x{img.height} but the image is {width}x{height}."
        )
    try:
        if img.mode in ("RGBA", "LA", "PA"):
            # Transparent pixels count as 0, so a canvas export and a grey PNG read alike.
            rgba = img.convert("RGBA")
            grey = np.asarray(rgba.convert("L"), dtype=np.uint16)
            alpha = np.asarray(rgba, dtype=np.uint16)[:, :, 3]
            mask = ((grey * alpha + 127) // 255).astype(np.uint8)
        else:
            mask = np.asarray(img.convert("L"))
    except (OSError, ValueError) as exc:
        raise ImageRejected(f"The mask is damaged: {exc}") from None
    if not soft:
        mask = np.where(mask >= 128, 255, 0).astype(np.uint8)
    return np.ascontiguousarray(mask, dtype=np.uint8)


def encode_png(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(mask, mode="L").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
