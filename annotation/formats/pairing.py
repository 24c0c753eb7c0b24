"""Pairing image files with their mask files in a folder tree (no Django here).

Supports the layout of public defect datasets: `<Type>/Imgs/<stem>.jpg` beside
`<stem>.png` (the mask), and plain folders of images. A PNG is taken as a mask when an image
of the same stem in another format sits in the same folder, or when it lives in a folder
named like masks/labels/GT beside an images folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}
MASK_FOLDERS = {"masks", "mask", "labels", "label", "gt", "groundtruth", "annotations"}
IMAGE_FOLDERS = {"imgs", "images", "image", "img"}


@dataclass(frozen=True)
class Item:
    image: str
    mask: str | None

    @property
    def source_name(self) -> str:
        return self.image


def _key(path: PurePosixPath) -> tuple[str, str]:
    return (str(path.parent).lower(), path.stem.lower())


def pair(paths: list[str]) -> tuple[list[Item], list[str]]:
    """(items, ignored): every image with its mask (or None), and the files not used."""
    files = [PurePosixPath(p) for p in paths]
    ignored = [
        str(p) for p in files if p.suffix.lower() not in IMAGE_SUFFIXES or p.name.startswith(".")
    ]
    files = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    by_key: dict[tuple[str, str], list[PurePosixPath]] = {}
    for p in files:
        by_key.setdefault(_key(p), []).append(p)

    masks: dict[tuple[str, str], PurePosixPath] = {}
    images: list[PurePosixPath] = []
    for p in files:
        siblings = by_key[_key(p)]
        if p.suffix.lower() == ".png" and any(s.suffix.lower() != ".png" for s in siblings):
            masks[_key(p)] = p  # stem.jpg + stem.png: the PNG is the mask
        elif p.parent.name.lower() in MASK_FOLDERS:
            masks[_mask_folder_key(p)] = p
        else:
            images.append(p)
    items = []
    used = set()
    for image in sorted(images):
        mask = masks.get(_key(image)) or masks.get(_image_folder_key(image))
        if mask is not None:
            used.add(mask)
        items.append(Item(str(image), str(mask) if mask else None))
    ignored += [str(m) for m in masks.values() if m not in used]
    return items, sorted(ignored)


def _mask_folder_key(mask: PurePosixPath) -> tuple[str, str]:
    # masks/<stem>.png (or <stem>_mask.png) pairs with images/<stem>.* in the same parent.
    stem = mask.stem.lower()
    for suffix in ("_mask", "-mask", "_label", "_gt"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return (f"{str(mask.parent.parent).lower()}/*", stem)


def _image_folder_key(image: PurePosixPath) -> tuple[str, str]:
    parent = image.parent
    base = parent.parent if parent.name.lower() in IMAGE_FOLDERS else parent
    return (f"{str(base).lower()}/*", image.stem.lower())
