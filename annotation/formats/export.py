"""Writing labels out in the formats the importer reads back (no Django here).

- COCO: one category (the project's defect type); each defective image one annotation whose
  segmentation is a compressed RLE of the binary mask (value >= 128), so it is exact; an image
  without annotations is a negative.
- VIA 2 project: polygon regions traced from the mask's outlines. Polygons cannot hold holes
  or single-pixel detail, so this format is approximate; COCO or mask PNGs are exact.
- Mask PNGs: `images/` beside `masks/`, soft values kept (value/255 = probability). A soft
  label also gets `masks/<stem>_binary.png`, thresholded at 128; the manifest names both
  (`mask` and `binary_mask`, the same file for a binary label).

A training snapshot's export marks each image's split ("train" or "validation"): a `split` key
on COCO images, a VIA file attribute, and a field of each item in the masks manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import cv2
import numpy as np

FORMATS = ("coco", "via", "masks")
BINARY_SUFFIX = "_binary"  # masks/<stem>_binary.png: a soft label thresholded at 128


@dataclass
class Entry:
    file_name: str  # the path of the image inside the export
    width: int
    height: int
    mask: np.ndarray | None  # HxW uint8; None for a negative
    split: str | None = None  # "train" or "validation" when exporting a training snapshot


def coco_document(entries: list[Entry], category: str) -> dict:
    from pycocotools import mask as coco_mask

    images, annotations = [], []
    for image_id, entry in enumerate(entries, 1):
        images.append(
            {
                "id": image_id,
                "file_name": entry.file_name,
                "width": entry.width,
                "height": entry.height,
                **({"split": entry.split} if entry.split else {}),
            }
        )
        if entry.mask is None or not (entry.mask >= 128).any():
            continue
        binary = np.asfortranarray((entry.mask >= 128).astype(np.uint8))
        rle = coco_mask.encode(binary)
        annotations.append(
            {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": 1,
                "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")},
                "area": int(coco_mask.area(rle)),
                "bbox": [float(v) for v in coco_mask.toBbox(rle)],
                "iscrowd": 1,  # COCO's convention for RLE segmentations
            }
        )
    return {
        "info": {"description": f"{category} labels"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": category, "supercategory": "defect"}],
    }


def via_document(entries: list[Entry]) -> dict:
    metadata = {}
    for entry in entries:
        regions = []
        if entry.mask is not None:
            binary = (entry.mask >= 128).astype(np.uint8)
            contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            for contour in contours:
                points = contour[:, 0, :]
                if len(points) < 3:
                    # A one- or two-pixel region: its bounding box keeps it from vanishing.
                    x, y, w, h = cv2.boundingRect(contour)
                    shape = {
                        "name": "rect",
                        "x": int(x),
                        "y": int(y),
                        "width": int(w),
                        "height": int(h),
                    }
                else:
                    shape = {
                        "name": "polygon",
                        "all_points_x": [int(x) for x in points[:, 0]],
                        "all_points_y": [int(y) for y in points[:, 1]],
                    }
                regions.append({"shape_attributes": shape, "region_attributes": {}})
        key = f"{entry.file_name}-1"
        metadata[key] = {"filename": entry.file_name, "size": -1, "regions": regions}
        if entry.split:
            metadata[key]["file_attributes"] = {"split": entry.split}
    return {"_via_settings": {}, "_via_img_metadata": metadata, "_via_attributes": {}}


def to_json(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()
