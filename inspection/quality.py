"""Image-quality measures per camera view, and the check against a camera's golden reference
frame: a view that drifts past the limits makes the object "not inspectable" instead of OK
(a blurred or dark view hides defects; calling it OK would be a guess)."""

from __future__ import annotations

import cv2
import numpy as np


def measure(image: np.ndarray) -> dict:
    """Sharpness (variance of the Laplacian), mean brightness 0..255, clipped-pixel fraction."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    clipped = np.count_nonzero((grey <= 2) | (grey >= 253)) / grey.size
    return {
        "sharpness": round(float(cv2.Laplacian(grey, cv2.CV_64F).var()), 2),
        "brightness": round(float(grey.mean()), 2),
        "clipped": round(float(clipped), 5),
    }


# Defaults relative to the golden frame; a camera's config may set its own "limits".
DEFAULT_LIMITS = {
    "min_sharpness_ratio": 0.5,  # focus lost: below half the reference's Laplacian variance
    "max_brightness_shift": 40.0,  # lighting changed: mean grey level moved this far (0..255)
    "max_clipped_increase": 0.05,  # glare or shadow: this much more of the image clipped
}


def check(measured: dict, reference: dict | None, limits: dict | None = None) -> list[str]:
    """What is wrong with a view against its camera's reference (empty: inspectable)."""
    if not reference:
        return []
    lim = DEFAULT_LIMITS | (limits or {})
    issues = []
    if measured["sharpness"] < lim["min_sharpness_ratio"] * reference["sharpness"]:
        issues.append(
            f"blurred: sharpness {measured['sharpness']:.0f} against "
            f"{reference['sharpness']:.0f} for the reference"
        )
    shift = measured["brightness"] - reference["brightness"]
    if abs(shift) > lim["max_brightness_shift"]:
        issues.append(
            f"{'brighter' if shift > 0 else 'darker'}: mean {measured['brightness']:.0f} "
            f"against {reference['brightness']:.0f}"
        )
    if measured["clipped"] - reference["clipped"] > lim["max_clipped_increase"]:
        issues.append(f"clipped: {100 * measured['clipped']:.1f}% of pixels at black or white")
    return issues
