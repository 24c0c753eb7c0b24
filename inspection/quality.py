"""Image-quality measures per camera view."""

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
