"""Pairing image files with their mask files in a folder tree (no Django here).

Supports the layout of public defect datasets: `<Type>/Imgs/<stem>.jpg` beside
`<stem>.png` (the mask), and plain folders of images. A PNG is taken as a mask when an image
of the same stem in another format sits in the same folder, or when it lives in a folder
named like masks/labels/GT beside an images folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}
MASK_FOLDERS = {"masks", "mask", "labels", "label", "gt", "groundtruth", "annotations"}
IMAGE_FOLDERS = {"imgs", "images", "image", "img"}


@dataclass(frozen=True)
class Item:
    image: str
    mask: str | None
    # Regions from a COCO/VIA file (None: no annotation file names this image).
    regions: list | None = field(default=None, compare=False)

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


def pair_with_regions(
    paths: list[str], annotated: list, annotation_file: str
) -> tuple[list[Item], list[str], list[dict]]:
    """Images named by an annotation file, matched by path relative to the file's folder,
    then by path from the root, then by file name; (items, unused files, errors)."""
    base = PurePosixPath(annotation_file).parent
    files = [PurePosixPath(p) for p in paths if PurePosixPath(p).suffix.lower() in IMAGE_SUFFIXES]
    by_path = {str(p).lower(): p for p in files}
    by_name: dict[str, list[PurePosixPath]] = {}
    for p in files:
        by_name.setdefault(p.name.lower(), []).append(p)
    items, errors, used = [], [], set()
    for entry in annotated:
        name = entry.file_name.replace("\\", "/").lstrip("/")
        match = by_path.get(str(base / name).lower()) or by_path.get(name.lower())
        if match is None:
            candidates = by_name.get(PurePosixPath(name).name.lower(), [])
            match = candidates[0] if len(candidates) == 1 else None
        if match is None or match in used:
            errors.append(
                {"name": entry.file_name, "reason": "named in the annotation file, not found"}
            )
            continue
        used.add(match)
        items.append(Item(str(match), None, entry.regions))
    unused = sorted(str(p) for p in files if p not in used)
    return items, unused, errors


def type_folders(root: Path) -> list[Path]:
    """The `<Type>` folders of a dataset laid out as `<Type>/Imgs/...` (one per defect type),
    by name; whatever types the dataset holds."""
    return sorted(imgs.parent for imgs in Path(root).glob("*/Imgs") if imgs.is_dir())
