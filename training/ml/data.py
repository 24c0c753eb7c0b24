"""Turning stored images and masks into model inputs, and model outputs back into masks.

Resize policies: "resize" stretches to the input size (right for parts imaged at a fixed
aspect, like straws at 256x1248); "letterbox" keeps the aspect and pads (right for tiles of
varying shape, which stretching would distort).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# ImageNet statistics: the encoders are built for them, pretrained or not.
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
POLICIES = ("resize", "letterbox")


@dataclass(frozen=True)
class Placement:
    """Where an image of `shape` sits inside the model input, to map predictions back."""

    shape: tuple[int, int]
    top: int
    left: int
    height: int
    width: int


def _interp(src_hw, dst_hw):
    shrinking = src_hw[0] * src_hw[1] > dst_hw[0] * dst_hw[1]
    return cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR


def place(shape: tuple[int, int], size: tuple[int, int], policy: str) -> Placement:
    h, w = size
    if policy == "resize":
        return Placement(tuple(shape), 0, 0, h, w)
    if policy != "letterbox":
        raise ValueError(f"unknown resize policy {policy!r}; choose from {POLICIES}")
    scale = min(h / shape[0], w / shape[1])
    ph, pw = max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))
    return Placement(tuple(shape), (h - ph) // 2, (w - pw) // 2, ph, pw)


def fit(
    array: np.ndarray, size: tuple[int, int], policy: str = "resize", is_mask: bool = False
) -> tuple[np.ndarray, Placement]:
    """Image (HxWx3) or mask (HxW) placed into `size` (height, width)."""
    p = place(array.shape[:2], size, policy)
    inner = array
    if array.shape[:2] != (p.height, p.width):
        interp = cv2.INTER_LINEAR if is_mask else _interp(array.shape[:2], (p.height, p.width))
        inner = cv2.resize(array, (p.width, p.height), interpolation=interp)
    if (p.height, p.width) == tuple(size):
        return inner, p
    out = np.zeros((*size, *array.shape[2:]), dtype=array.dtype)
    if not is_mask:
        out[:] = np.asarray(array.reshape(-1, *array.shape[2:]).mean(0), dtype=array.dtype)
    out[p.top : p.top + p.height, p.left : p.left + p.width] = inner
    return out, p


def unfit(prob: np.ndarray, placement: Placement) -> np.ndarray:
    """A model-size probability map back at the original image size."""
    p = placement
    inner = prob[p.top : p.top + p.height, p.left : p.left + p.width]
    return cv2.resize(inner, (p.shape[1], p.shape[0]), interpolation=cv2.INTER_LINEAR)


def normalise(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB -> 3xHxW float32, ImageNet-normalised."""
    x = image.astype(np.float32) * (1.0 / 255.0)
    x -= MEAN
    x /= STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def batch_inputs(
    images: list[np.ndarray], size: tuple[int, int], policy: str = "resize"
) -> tuple[np.ndarray, list[Placement]]:
    placed = [fit(img, size, policy) for img in images]
    return np.stack([normalise(x) for x, _ in placed]), [p for _, p in placed]


def mask_target(mask: np.ndarray) -> np.ndarray:
    """uint8 mask (value/255 = probability of defect) -> 1xHxW float32 in [0, 1]."""
    return (mask.astype(np.float32) * (1.0 / 255.0))[None]


def defect_biased_crop(
    image: np.ndarray,
    mask: np.ndarray,
    size: tuple[int, int],
    rng: np.random.Generator,
    defect_bias: float = 0.7,
):
    """A crop of `size` from a large image, centred on a defect pixel with `defect_bias`
    probability (defects are small; uniform crops would mostly show background)."""
    h, w = size
    H, W = mask.shape  # noqa: N806
    ys, xs = np.nonzero(mask >= 128)
    if len(ys) and rng.random() < defect_bias:
        i = rng.integers(len(ys))
        cy, cx = (
            ys[i] + rng.integers(-h // 4, h // 4 + 1),
            xs[i] + rng.integers(-w // 4, w // 4 + 1),
        )
        top, left = int(np.clip(cy - h // 2, 0, H - h)), int(np.clip(cx - w // 2, 0, W - w))
    else:
        top, left = int(rng.integers(0, H - h + 1)), int(rng.integers(0, W - w + 1))
    return image[top : top + h, left : left + w], mask[top : top + h, left : left + w]


def is_large(shape: tuple[int, int], size: tuple[int, int]) -> bool:
    """Images at least twice the input size both ways are cropped, not shrunk: shrinking them
    would erase defects a few pixels wide."""
    return shape[0] >= 2 * size[0] and shape[1] >= 2 * size[1]
