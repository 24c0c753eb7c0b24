"""Every accepted file format imports at its real size, reads as sensible 8-bit pixels, and
reaches the editor in a form a browser can show."""

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from annotation.imaging import to_rgb_array
from annotation.models import Image
from defect_platform.core.storage import read_bytes

HEIGHT, WIDTH = 40, 56
# A left-to-right ramp over the whole 16-bit range: 0 in the first column, 65535 in the last.
RAMP16 = np.tile(np.linspace(0, 65535, WIDTH), (HEIGHT, 1)).round().astype(np.uint16)
RAMP8 = np.tile(np.linspace(0, 255, WIDTH), (HEIGHT, 1)).round().astype(np.uint8)


def _encode(array: np.ndarray, fmt: str, mode: str | None = None) -> bytes:
    img = PILImage.fromarray(array)
    if mode:
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def _rgb(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)


RGBA = np.dstack([_rgb(3), np.full((HEIGHT, WIDTH), 200, np.uint8)])

# name, bytes, the RGB pixels training should read from the stored file
CASES = [
    ("rgb.bmp", _encode(_rgb(1), "BMP"), _rgb(1)),
    ("grey.bmp", _encode(RAMP8, "BMP"), np.dstack([RAMP8] * 3)),
    ("rgb.tif", _encode(_rgb(2), "TIFF"), _rgb(2)),
    ("grey8.tif", _encode(RAMP8, "TIFF"), np.dstack([RAMP8] * 3)),
    ("grey.png", _encode(RAMP8, "PNG"), np.dstack([RAMP8] * 3)),
    ("rgba.png", _encode(RGBA, "PNG"), RGBA[:, :, :3]),
]
WIDE = [("grey16.tif", _encode(RAMP16, "TIFF")), ("grey16.png", _encode(RAMP16, "PNG"))]


def _upload(client, project, name, data):
    response = client.post(
        f"/api/projects/{project.pk}/images/",
        {"files": [SimpleUploadedFile(name, data)]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    (created,) = response.json()["created"]
    return Image.objects.get(pk=created["id"])


@pytest.mark.parametrize(("name", "data", "pixels"), CASES, ids=[c[0] for c in CASES])
def test_eight_bit_formats_import_at_their_size_with_their_pixels(
    name, data, pixels, client_for, owner, project
):
    image = _upload(client_for(owner), project, name, data)
    assert (image.width, image.height) == (WIDTH, HEIGHT)
    assert read_bytes(image.file.name) == data  # the original is kept as it came
    assert np.array_equal(to_rgb_array(read_bytes(image.file.name)), pixels)


@pytest.mark.parametrize(("name", "data"), WIDE, ids=[c[0] for c in WIDE])
def test_sixteen_bit_images_are_scaled_to_eight_bits_not_clipped(
    name, data, client_for, owner, project
):
    image = _upload(client_for(owner), project, name, data)
    assert (image.width, image.height) == (WIDTH, HEIGHT)
    assert image.mode.startswith("I")  # stored at full depth
    grey = to_rgb_array(read_bytes(image.file.name))[:, :, 0].astype(int)
    assert grey[:, 0].max() <= 1 and grey[:, -1].min() >= 254  # the full range, 0..255
    assert (np.diff(grey[0]) >= 0).all()  # the ramp still rises: nothing saturated
    assert len(np.unique(grey)) >= WIDTH - 2  # and its steps stay apart
    assert np.abs(grey - RAMP16 / 257.0).max() <= 1.5


def _served(client, image) -> tuple[str, PILImage.Image]:
    response = client.get(f"/api/images/{image.pk}/file/")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    return response["Content-Type"], PILImage.open(io.BytesIO(data))


@pytest.mark.parametrize(
    ("name", "data"),
    [("rgb.tif", _encode(_rgb(2), "TIFF")), *WIDE],
    ids=["rgb.tif", *(w[0] for w in WIDE)],
)
def test_the_editor_gets_an_eight_bit_png_of_a_tiff_or_16_bit_image(
    name, data, client_for, owner, project, settings
):
    client = client_for(owner)
    image = _upload(client, project, name, data)
    content_type, served = _served(client, image)
    assert content_type == "image/png" and served.format == "PNG"
    assert served.size == (WIDTH, HEIGHT) and served.mode in ("L", "RGB")
    assert np.array_equal(np.asarray(served.convert("RGB")), to_rgb_array(data))
    # Made once and kept beside the project's files; the next request reads the copy.
    copies = list((settings.MEDIA_ROOT / f"projects/{project.pk}/renditions").iterdir())
    assert [c.name for c in copies] == [f"{image.sha256}.png"]
    copies[0].write_bytes(_encode(np.zeros((HEIGHT, WIDTH), np.uint8), "PNG"))
    assert not np.asarray(_served(client, image)[1]).any()


def test_the_editor_gets_jpeg_png_and_bmp_files_as_they_are(client_for, owner, project, settings):
    client = client_for(owner)
    for name, data, content_type in [
        ("a.png", _encode(RAMP8, "PNG"), "image/png"),
        ("a.bmp", _encode(_rgb(1), "BMP"), "image/bmp"),
        ("a.jpg", _encode(_rgb(1), "JPEG"), "image/jpeg"),
    ]:
        image = _upload(client, project, name, data)
        response = client.get(f"/api/images/{image.pk}/file/")
        assert response["Content-Type"] == content_type
        assert b"".join(response.streaming_content) == data
    assert not (settings.MEDIA_ROOT / f"projects/{project.pk}/renditions").exists()
