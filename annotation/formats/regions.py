"""Annotation files that describe defects as regions instead of mask images: COCO JSON
(polygons and RLE, decoded with pycocotools) and VIA project JSON (polygon, rect, circle,
ellipse, polyline). No Django here.

A parsed file maps image file names to region lists; regions are rasterised into one binary
mask per image once the image's real size is known (the sizes written in the JSON are not
trusted). An image listed with no regions is a negative: both tools list every image of a
project, so "listed, nothing drawn" means "looked at, no defect".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import cv2
import numpy as np

# Open polylines have no area; they are drawn this many pixels wide (a scratch traced with a
# line tool in VIA).
POLYLINE_WIDTH = 3


class RegionsRejected(ValueError):
    """An annotation file or region that cannot be used; the message says why."""


@dataclass
class Region:
    kind: str  # polygon | rect | circle | ellipse | polyline | rle
    data: dict


@dataclass
class Annotated:
    file_name: str
    regions: list[Region] = field(default_factory=list)


def detect(data: bytes) -> str | None:
    """'coco', 'via' or None for JSON this module does not read."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(doc, dict) and isinstance(doc.get("images"), list) and "annotations" in doc:
        return "coco"
    if isinstance(doc, dict) and ("_via_img_metadata" in doc or _looks_like_via1(doc)):
        return "via"
    return None


def _looks_like_via1(doc: dict) -> bool:
    values = list(doc.values())[:5]
    return bool(values) and all(
        isinstance(v, dict) and "filename" in v and "regions" in v for v in values
    )


def parse(data: bytes, category: str | None = None) -> list[Annotated]:
    kind = detect(data)
    if kind is None:
        raise RegionsRejected("not a COCO or VIA annotation file")
    doc = json.loads(data)
    return parse_coco(doc, category) if kind == "coco" else parse_via(doc)


def parse_coco(doc: dict, category: str | None = None) -> list[Annotated]:
    """COCO instances: every image, with the segmentations of one category (the project's
    defect type). With several categories and none named, the file is refused rather than
    mixing defect types in one binary dataset."""
    categories = {c.get("id"): str(c.get("name")) for c in doc.get("categories") or []}
    wanted = set(categories)
    if category is not None:
        wanted = {cid for cid, name in categories.items() if name == category}
        if not wanted:
            raise RegionsRejected(
                f"category {category!r} is not in the file; it has {sorted(categories.values())}"
            )
    elif len(categories) > 1:
        raise RegionsRejected(
            "the file holds several categories "
            f"{sorted(categories.values())}; name the one this project labels"
        )
    by_id: dict = {}
    for image in doc["images"]:
        if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
            raise RegionsRejected("every COCO image needs an id and a file_name")
        by_id[image["id"]] = Annotated(str(image["file_name"]))
    for ann in doc.get("annotations") or []:
        if not isinstance(ann, dict):
            raise RegionsRejected("a COCO annotation is not an object")
        target = by_id.get(ann.get("image_id"))
        if target is None or (categories and ann.get("category_id") not in wanted):
            continue
        seg = ann.get("segmentation")
        if isinstance(seg, list):
            for polygon in seg:
                target.regions.append(Region("polygon", {"points": _pairs(polygon)}))
        elif isinstance(seg, dict) and "counts" in seg:
            target.regions.append(Region("rle", seg))
        elif "bbox" in ann:
            x, y, w, h = ann["bbox"]
            target.regions.append(Region("rect", {"x": x, "y": y, "width": w, "height": h}))
    return list(by_id.values())


def _pairs(flat) -> list[tuple[float, float]]:
    if not isinstance(flat, list) or len(flat) < 6 or len(flat) % 2:
        raise RegionsRejected("a COCO polygon needs at least 3 x,y pairs")
    return [(float(flat[i]), float(flat[i + 1])) for i in range(0, len(flat), 2)]


def parse_via(doc: dict) -> list[Annotated]:
    """VIA 2 projects (`_via_img_metadata`) and VIA 1 region exports."""
    entries = doc.get("_via_img_metadata", doc)
    out = []
    for entry in entries.values():
        if not isinstance(entry, dict) or "filename" not in entry:
            raise RegionsRejected("every VIA entry needs a filename")
        regions = entry.get("regions") or []
        if isinstance(regions, dict):  # VIA 1 keyed regions by index
            regions = list(regions.values())
        annotated = Annotated(str(entry["filename"]))
        for region in regions:
            shape = dict(region.get("shape_attributes") or {})
            name = shape.pop("name", None)
            if name == "polygon" or name == "polyline":
                xs, ys = shape.get("all_points_x") or [], shape.get("all_points_y") or []
                if len(xs) != len(ys) or len(xs) < 2:
                    raise RegionsRejected(f"a VIA {name} in {entry['filename']} has bad points")
                points = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
                annotated.regions.append(Region(name, {"points": points}))
            elif name in ("rect", "circle", "ellipse"):
                annotated.regions.append(Region(name, shape))
            elif name == "point":
                continue  # a point marks, it does not outline: nothing to paint
            else:
                raise RegionsRejected(f"VIA shape {name!r} in {entry['filename']} is not supported")
        out.append(annotated)
    return out


def rasterise(regions: list[Region], height: int, width: int) -> np.ndarray:
    """One HxW uint8 mask (255 = defect) holding every region, clipped to the image."""
    mask = np.zeros((height, width), np.uint8)
    for region in regions:
        try:
            _paint(mask, region)
        except RegionsRejected:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise RegionsRejected(f"a {region.kind} region is malformed: {exc}") from None
    return mask


def _paint(mask: np.ndarray, region: Region) -> None:
    d = region.data
    if region.kind in ("polygon", "polyline"):
        # Sub-pixel vertices: cv2 draws with 8 fractional bits so shapes do not shift.
        pts = np.round(np.array(d["points"], np.float64) * 256).astype(np.int32)
        if region.kind == "polygon":
            cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_8, shift=8)
        else:
            # OpenCV's thick lines come out wider than asked; a 1-pixel line dilated by a
            # square kernel has exactly the width.
            line = np.zeros_like(mask)
            cv2.polylines(line, [pts], False, 255, 1, cv2.LINE_8, shift=8)
            kernel = np.ones((POLYLINE_WIDTH, POLYLINE_WIDTH), np.uint8)
            mask |= cv2.dilate(line, kernel)
    elif region.kind == "rect":
        x0, y0 = int(round(float(d["x"]))), int(round(float(d["y"])))
        x1, y1 = x0 + int(round(float(d["width"]))), y0 + int(round(float(d["height"])))
        mask[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = 255
    elif region.kind == "circle":
        centre = (int(round(float(d["cx"]))), int(round(float(d["cy"]))))
        cv2.circle(mask, centre, int(round(float(d["r"]))), 255, -1)
    elif region.kind == "ellipse":
        centre = (int(round(float(d["cx"]))), int(round(float(d["cy"]))))
        axes = (int(round(float(d["rx"]))), int(round(float(d["ry"]))))
        angle = np.degrees(float(d.get("theta", 0.0)))
        cv2.ellipse(mask, centre, axes, angle, 0, 360, 255, -1)
    elif region.kind == "rle":
        mask |= _decode_rle(d, *mask.shape)
    else:
        raise ValueError(f"unknown region kind {region.kind!r}")


def _decode_rle(rle: dict, height: int, width: int) -> np.ndarray:
    from pycocotools import mask as coco_mask

    size = rle.get("size")
    if not (isinstance(size, list) and len(size) == 2):
        raise ValueError("an RLE needs size [height, width]")
    if tuple(size) != (height, width):
        raise ValueError(f"the RLE is {size[1]}x{size[0]} but the image is {width}x{height}")
    counts = rle_counts(rle["counts"])
    # pycocotools trusts its input: runs past the image's end or wrapping negative would
    # write out of bounds or decode a wrong mask, so the runs are checked here first.
    if any(c < 0 for c in counts):
        raise RegionsRejected("invalid RLE: it holds a negative run length")
    if sum(counts) != height * width:
        raise RegionsRejected(
            f"invalid RLE: its runs cover {sum(counts)} pixels, "
            f"but a {width}x{height} image has {height * width}"
        )
    encoded = coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    return (coco_mask.decode(encoded) > 0).astype(np.uint8) * 255


def rle_counts(counts) -> list[int]:
    """The run lengths of an RLE's counts: a list of numbers (uncompressed) or COCO's
    compressed text (LEB128-like 6-bit groups, each run after the second stored as the
    difference from the run two before it)."""
    if isinstance(counts, list):
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
            raise RegionsRejected("invalid RLE: the counts must be whole numbers")
        return counts
    if not isinstance(counts, str):
        raise RegionsRejected("invalid RLE: counts must be a list of run lengths or a string")
    runs, value, shift, more = [], 0, 0, False
    for position, char in enumerate(counts):
        code = ord(char) - 48
        if not 0 <= code < 64:
            raise RegionsRejected(
                f"invalid RLE: {char!r} at position {position} is not compressed RLE text"
            )
        value |= (code & 0x1F) << shift
        shift += 5
        more = bool(code & 0x20)
        if more:
            continue
        if code & 0x10:
            value |= -1 << shift  # the sign bit of the last group
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
        value, shift = 0, 0
    if more:
        raise RegionsRejected("invalid RLE: the compressed counts end in the middle of a number")
    return runs
