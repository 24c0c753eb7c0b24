"""Uploads to POST /api/inspect/ the way cameras and line PCs send them: grey, 16-bit, RGBA,
palette and CMYK images and odd sizes get a verdict; formats and files that are not images
get a 400 naming the view."""

import io

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from inspection.models import InspectionRecord, RecordView

VERDICTS = {"ok", "ng", "not_inspectable"}


def _encoded(image: PILImage.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def _pattern(width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng(width * 7919 + height)
    return rng.integers(40, 200, (height, width, 3), dtype=np.uint8)


def _uploads() -> dict[str, tuple[bytes, tuple[int, int]]]:
    """name -> (file bytes, (width, height))."""
    rgb = PILImage.fromarray(_pattern(64, 64))
    grey16 = (np.asarray(rgb.convert("L"), dtype=np.uint16) * 16).astype(np.uint16)  # 12-bit
    return {
        "grey.png": (_encoded(rgb.convert("L"), "PNG"), (64, 64)),
        "grey16.png": (_encoded(PILImage.fromarray(grey16), "PNG"), (64, 64)),
        "rgba.png": (_encoded(rgb.convert("RGBA"), "PNG"), (64, 64)),
        "grey-alpha.png": (_encoded(rgb.convert("LA"), "PNG"), (64, 64)),
        "palette.png": (_encoded(rgb.convert("P"), "PNG"), (64, 64)),
        "cmyk.jpg": (_encoded(rgb.convert("CMYK"), "JPEG"), (64, 64)),
        "odd.png": (_encoded(PILImage.fromarray(_pattern(37, 101)), "PNG"), (37, 101)),
        "long.bmp": (_encoded(PILImage.fromarray(_pattern(301, 9)), "BMP"), (301, 9)),
        "dot.png": (_encoded(PILImage.fromarray(_pattern(1, 1)), "PNG"), (1, 1)),
        "grey.tif": (_encoded(rgb.convert("L"), "TIFF"), (64, 64)),
    }


def _inspect(client, project, name: str, data: bytes):
    return client.post(
        "/api/inspect/",
        {"project": project.pk, "images": [SimpleUploadedFile(name, data)]},
        format="multipart",
    )


def test_every_channel_layout_and_odd_size_gets_a_verdict_and_unsupported_files_a_400(
    client_for, inspector, trained_model
):
    client = client_for(inspector)
    project = trained_model.project
    for name, (data, (width, height)) in _uploads().items():
        answer = _inspect(client, project, name, data)
        assert answer.status_code == 200, (name, answer.content)
        verdict = answer.json()
        assert verdict["verdict"] in VERDICTS, name
        assert set(verdict["quality"]) == {"view1"}, name
        for defect in verdict["defects"]:
            for view in defect["views"]:
                x, y, w, h = view["bbox"]  # as OpenCV's boundingRect gives it
                assert w >= 1 and h >= 1, (name, view)
                assert x >= 0 and y >= 0 and x + w <= width and y + h <= height, (name, view)
        # The stored view is the upload as RGB, at its own size.
        view = RecordView.objects.get(record_id=verdict["id"])
        if view.file:
            with view.file.open("rb") as fh:
                stored = PILImage.open(fh)
                assert stored.mode == "RGB" and stored.size == (width, height), name
    assert InspectionRecord.objects.count() == len(_uploads())

    rgb = PILImage.fromarray(_pattern(64, 64))
    refused = {
        "anim.gif": _encoded(rgb, "GIF"),
        "empty.png": b"",
        "cut.png": _encoded(rgb, "PNG")[:200],
        "text.png": b"not an image at all",
    }
    for name, data in refused.items():
        answer = _inspect(client, project, name, data)
        assert answer.status_code == 400, (name, answer.content)
        assert "images" in answer.json()["errors"], name
        assert "view1" in str(answer.json()["errors"]["images"]), name
    assert InspectionRecord.objects.count() == len(_uploads())
