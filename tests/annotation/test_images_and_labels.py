import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from PIL import Image as PILImage

from annotation.models import Image, Label, LabelVersion
from tests.conftest import make_image, png_bytes


def _upload(name, data, content_type="image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def _post_images(client, project, *files):
    return client.post(
        f"/api/projects/{project.pk}/images/", {"files": list(files)}, format="multipart"
    )


def test_upload_keeps_good_images_and_reports_each_bad_one(client_for, owner, project, settings):
    good = png_bytes(make_image(1))
    truncated = png_bytes(make_image(2))[:200]
    response = _post_images(
        client_for(owner),
        project,
        _upload("good.png", good),
        _upload("cut.png", truncated),
        _upload("notes.jpg", b"this is not an image"),
        _upload("again.png", good),
    )
    assert response.status_code == 201
    body = response.json()
    assert [c["source_name"] for c in body["created"]] == ["good.png"]
    assert {e["name"] for e in body["errors"]} == {"cut.png", "notes.jpg"}
    assert body["duplicates"] == [{"name": "again.png", "existing_id": body["created"][0]["id"]}]
    stored = list((settings.MEDIA_ROOT / f"projects/{project.pk}/images").iterdir())
    assert len(stored) == 1 and Image.objects.count() == 1


def test_decompression_bombs_are_refused(client_for, owner, project, settings):
    settings.MAX_IMAGE_PIXELS = 64 * 64 - 1
    response = _post_images(
        client_for(owner), project, _upload("big.png", png_bytes(make_image(1)))
    )
    assert response.status_code == 400
    assert "limit" in response.json()["detail"]
    assert not Image.objects.exists()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (its checksum fixed to match)."""
    data = bytearray(png_bytes(np.zeros((4, 4), np.uint8)))
    data[16:24] = struct.pack(">II", width, height)  # IHDR: after the signature, length, type
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_a_raised_pixel_limit_reaches_pillow(client_for, owner, project, settings):
    # 200 megapixels: over twice Pillow's own default limit, which refused it regardless.
    settings.MAX_IMAGE_PIXELS = 250_000_000
    assert PILImage.MAX_IMAGE_PIXELS == 250_000_000
    response = _post_images(
        client_for(owner), project, _upload("wide.png", _png_claiming(20_000, 10_000))
    )
    assert response.status_code == 400
    # Past the size checks: refused only because the pixels the header promises are missing.
    reason = response.json()["detail"]
    assert "truncated" in reason and "large" not in reason and "limit" not in reason


def test_a_lowered_pixel_limit_reaches_pillow_and_is_undone_with_the_setting(
    client_for, owner, project, settings
):
    with override_settings(MAX_IMAGE_PIXELS=1000):
        assert PILImage.MAX_IMAGE_PIXELS == 1000
        # Pillow itself now refuses a 64x64 image, in every path that opens one.
        with pytest.raises(PILImage.DecompressionBombError):
            PILImage.open(io.BytesIO(png_bytes(make_image(1))))
        upload = _upload("small.png", png_bytes(make_image(1)))
        assert _post_images(client_for(owner), project, upload).status_code == 400
    assert PILImage.MAX_IMAGE_PIXELS == settings.MAX_IMAGE_PIXELS
    upload = _upload("small.png", png_bytes(make_image(1)))
    assert _post_images(client_for(owner), project, upload).status_code == 201


def test_annotators_may_not_import_and_outsiders_see_nothing(
    client_for, annotator, outsider, project
):
    upload = _upload("a.png", png_bytes(make_image(1)))
    assert _post_images(client_for(annotator), project, upload).status_code == 403
    assert client_for(outsider).get(f"/api/projects/{project.pk}/images/").status_code == 404


def _image(project, owner):
    from annotation.services import add_image

    image, _ = add_image(project, png_bytes(make_image(7)), "seven.png", owner)
    return image


def _save(client, image, mask=None, base=None, kind="mask", soft=False):
    data = {"kind": kind, "soft": soft}
    if mask is not None:
        data["mask"] = _upload("mask.png", png_bytes(mask))
    if base is not None:
        data["base_version"] = base
    return client.post(f"/api/images/{image.pk}/labels/", data, format="multipart")


def test_each_save_is_a_new_version_and_a_stale_save_gets_409(client_for, owner, project):
    image = _image(project, owner)
    mask = np.zeros((64, 64), dtype=np.uint8)
    mask[10:20, 10:20] = 200
    client = client_for(owner)
    first = _save(client, image, mask)
    assert first.status_code == 201
    v1 = first.json()["id"]
    second = _save(client, image, mask, base=v1)
    assert second.status_code == 201
    stale = _save(client, image, np.zeros((64, 64), np.uint8), base=v1)
    assert stale.status_code == 409
    assert stale.json()["current_version"]["id"] == second.json()["id"]
    versions = LabelVersion.objects.order_by("number")
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].parent_id == v1
    stored = np.asarray(PILImage.open(versions[0].mask.path))
    assert set(np.unique(stored)) == {0, 255}  # binary masks are thresholded at 128
    served = client.get(f"/api/label-versions/{v1}/mask/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"


def test_label_versions_cannot_be_deleted_through_the_api_or_the_admin(
    client_for, owner, project, make_user
):
    image = _image(project, owner)
    mask = np.zeros((64, 64), dtype=np.uint8)
    mask[10:20, 10:20] = 255
    v1 = _save(client_for(owner), image, mask).json()["id"]
    v2 = _save(client_for(owner), image, np.zeros_like(mask), base=v1).json()["id"]
    label = Label.objects.get()
    root = make_user("root", staff=True)
    root.is_superuser = True
    root.save()
    routes = [
        f"/api/label-versions/{v1}/",
        f"/api/label-versions/{v2}/",
        f"/api/label-versions/{v1}/mask/",
        f"/api/images/{image.pk}/labels/",
        f"/api/labels/{label.pk}/submit/",
        f"/api/labels/{label.pk}/review/",
        f"/api/labels/{label.pk}/reviews/",
    ]
    for user in (owner, root):
        for url in routes:
            assert client_for(user).delete(url).status_code in (403, 405), (user, url)
    admin = Client()
    admin.force_login(root)
    for url in (
        f"/admin/annotation/labelversion/{v1}/delete/",
        f"/admin/annotation/label/{label.pk}/delete/",
    ):
        assert admin.get(url).status_code == 403, url
        assert admin.post(url, {"post": "yes"}).status_code == 403, url
    # No bulk delete in the list either, and the image, which its labels protect, stays.
    admin.post(
        "/admin/annotation/labelversion/",
        {"action": "delete_selected", "_selected_action": [v1, v2], "post": "yes"},
    )
    admin.post(f"/admin/annotation/image/{image.pk}/delete/", {"post": "yes"})
    assert sorted(LabelVersion.objects.values_list("pk", flat=True)) == [v1, v2]
    assert Label.objects.filter(pk=label.pk, current_version_id=v2).exists()
    assert Image.objects.filter(pk=image.pk).exists()
    assert all(Path(v.mask.path).exists() for v in LabelVersion.objects.exclude(mask=""))


def test_soft_masks_keep_their_probabilities(client_for, owner, project):
    image = _image(project, owner)
    mask = np.full((64, 64), 128, dtype=np.uint8)
    response = _save(client_for(owner), image, mask, soft=True)
    assert response.status_code == 201 and response.json()["is_soft"]
    stored = np.asarray(PILImage.open(LabelVersion.objects.get().mask.path))
    assert (stored == 128).all()


def test_a_mask_of_the_wrong_size_is_refused_and_nothing_is_written(
    client_for, owner, project, settings
):
    image = _image(project, owner)
    response = _save(client_for(owner), image, np.zeros((32, 64), np.uint8))
    assert response.status_code == 400
    assert "32" in response.json()["errors"]["mask"][0]
    assert not LabelVersion.objects.exists()
    assert not (settings.MEDIA_ROOT / f"projects/{project.pk}/masks").exists() or not any(
        (settings.MEDIA_ROOT / f"projects/{project.pk}/masks").iterdir()
    )


def test_negative_labels_need_no_mask_and_inspectors_may_not_label(
    client_for, owner, inspector, project
):
    image = _image(project, owner)
    assert _save(client_for(inspector), image, kind="negative").status_code == 403
    response = _save(client_for(owner), image, kind="negative")
    assert response.status_code == 201 and response.json()["mask_url"] is None


def test_two_tabs_saving_from_one_version_lose_nothing(annotator, owner, project):
    """The same annotator in two browser tabs (two sessions) edits one image from v1."""
    from rest_framework.test import APIClient

    image = _image(project, owner)
    first_tab, second_tab = APIClient(), APIClient()
    for tab in (first_tab, second_tab):
        assert tab.login(username="annotator", password="pw-12345678")
    base = np.zeros((64, 64), np.uint8)
    base[0:5, 0:5] = 255
    v1 = _save(first_tab, image, base).json()["id"]
    first_edit, second_edit = base.copy(), base.copy()
    first_edit[10:20, 10:20] = 255
    second_edit[40:50, 40:50] = 255

    saved = _save(first_tab, image, first_edit, base=v1)
    stale = _save(second_tab, image, second_edit, base=v1)
    assert saved.status_code == 201
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    current = stale.json()["current_version"]
    assert current["id"] == saved.json()["id"] and current["parent"] == v1

    # The second tab merges its stroke onto the current version and saves on top of it.
    current_mask = np.asarray(PILImage.open(io.BytesIO(_bytes(second_tab, current["mask_url"]))))
    merged = _save(second_tab, image, np.maximum(current_mask, second_edit), base=current["id"])
    assert merged.status_code == 201 and merged.json()["parent"] == current["id"]
    for version, mask in [
        (v1, base),
        (saved.json()["id"], first_edit),
        (merged.json()["id"], np.maximum(first_edit, second_edit)),
    ]:
        detail = second_tab.get(f"/api/label-versions/{version}/").json()
        assert detail["author"] == "annotator"
        served = np.asarray(PILImage.open(io.BytesIO(_bytes(first_tab, detail["mask_url"]))))
        assert np.array_equal(served, mask)


def _bytes(client, url) -> bytes:
    response = client.get(url)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_one_upload_may_hold_more_files_than_djangos_default_of_100(client_for, owner, project):
    # Tiny distinct images: the point is the number of file parts in one request.
    files = [
        _upload(f"tile{i}.png", png_bytes(np.full((8, 8, 3), i, dtype=np.uint8)))
        for i in range(150)
    ]
    response = _post_images(client_for(owner), project, *files)
    assert response.status_code == 201, response.content[:300]
    assert len(response.json()["created"]) == 150
    assert project.images.count() == 150
