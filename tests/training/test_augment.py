"""Joint augmentations move the mask with the image."""

import numpy as np
import pytest

from training.ml.augment import training_transform


def _shape() -> np.ndarray:
    """An "F": no flip or quarter turn maps it onto itself."""
    shape = np.zeros((96, 96), dtype=bool)
    shape[16:80, 24:38] = True  # stem
    shape[16:30, 38:72] = True  # top bar
    shape[42:54, 38:62] = True  # middle bar
    return shape


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_the_test_shape_is_told_apart_from_its_flips():
    shape = _shape()
    # Far below the 0.9 the alignment test asks: a mask left unflipped would fail it.
    for moved in (shape[:, ::-1], shape[::-1], shape[::-1, ::-1], np.roll(shape, 5, axis=1)):
        assert _iou(shape, moved) < 0.75


def test_the_full_transform_keeps_image_and_mask_aligned():
    shape = _shape()
    image = np.full((96, 96, 3), 20, dtype=np.uint8)
    image[shape] = 235
    mask = np.where(shape, 255, 0).astype(np.uint8)
    changed = 0
    for seed in range(40):
        out = training_transform(seed, "full")(image=image, mask=mask)
        seen = out["image"].mean(axis=2) >= 128
        labelled = out["mask"] >= 128
        assert out["mask"].shape == (96, 96)
        assert _iou(seen, labelled) > 0.9, f"seed {seed}"
        changed += _iou(labelled, shape) < 0.9
    assert changed >= 10  # the transform did move things, on many seeds


@pytest.mark.parametrize("level", ["flips", "none"])
def test_milder_levels_keep_alignment_too(level):
    shape = _shape()
    image = np.where(shape[..., None], 235, 20).astype(np.uint8).repeat(3, axis=2)
    mask = np.where(shape, 255, 0).astype(np.uint8)
    transform = training_transform(3, level)
    if transform is None:
        assert level == "none"
        return
    for _ in range(10):
        out = transform(image=image, mask=mask)
        assert np.array_equal(out["image"][..., 0] >= 128, out["mask"] >= 128)


def test_an_unknown_level_is_refused():
    with pytest.raises(ValueError, match="unknown augmentation level"):
        training_transform(0, "heavy")
