"""Turning stored images and masks into model inputs."""

from __future__ import annotations

import cv2
import numpy as np

# ImageNet statistics: the encoders are built for them, pretrained or not.
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HxWx3 uint8 -> size (height, width), area interpolation when shrinking."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    shrinking = image.shape[0] * image.shape[1] > h * w
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (w, h), interpolation=interp)


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    if mask.shape[:2] == (h, w):
        return mask
    return cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)


def normalise(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB -> 3xHxW float32, ImageNet-normalised."""
    x = image.astype(np.float32) / 255.0
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def batch_inputs(images: list[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    return np.stack([normalise(resize_image(img, size)) for img in images])


def mask_target(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 mask (value/255 = probability of defect) -> 1xHxW float32 in [0, 1]."""
    return (resize_mask(mask, size).astype(np.float32) / 255.0)[None]
