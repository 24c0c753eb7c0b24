"""Joint image + mask augmentations (albumentations), mild enough for surface textures."""

from __future__ import annotations

import albumentations as A  # noqa: N812

LEVELS = ("full", "flips", "none")


def training_transform(seed: int, level: str = "full") -> A.Compose | None:
    """ "full": flips, small affine, brightness/contrast, noise; "flips": flips only."""
    if level == "none":
        return None
    if level == "flips":
        return A.Compose([A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)], seed=seed)
    if level != "full":
        raise ValueError(f"unknown augmentation level {level!r}; choose from {LEVELS}")
    return A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.Affine(
                scale=(0.9, 1.1),
                translate_percent=(-0.05, 0.05),
                rotate=(-8, 8),
                border_mode=0,
                p=0.5,
            ),
            A.RandomBrightnessContrast(brightness_limit=0.15, contrast_limit=0.15, p=0.5),
            A.GaussNoise(std_range=(0.01, 0.04), p=0.2),
        ],
        seed=seed,
    )
