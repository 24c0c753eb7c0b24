"""A full media disk under a running web process: its media folder is a small tmpfs of its
own, filled up by the test. Uploads say the storage is full (507), keep the files that fitted,
leave no partial files, and work again once there is room."""

import os
import subprocess

import numpy as np
import pytest
import requests
from rest_framework.authtoken.models import Token

from annotation.models import Image
from tests.conftest import png_bytes
from tests.processes import service_env, start_web

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def small_disk(tmp_path):
    media = tmp_path / "small-disk"  # not tmp_path/media: the test's own media live there
    media.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(media)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.fail(f"mounting a 4 MB tmpfs needs root (CAP_SYS_ADMIN): {mounted.stderr}")
    yield media
    subprocess.run(["umount", "-l", str(media)], check=True)


def _png(seed: int, side: int) -> bytes:
    noise = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    return png_bytes(noise)  # noise does not compress: about 3 bytes a pixel


def _post(url, project, headers, *files):
    body = [("files", (f"f{i}.png", data, "image/png")) for i, data in enumerate(files)]
    return requests.post(
        f"{url}/api/projects/{project.pk}/images/", files=body, headers=headers, timeout=60
    )


def test_uploads_to_a_full_disk_say_so_keep_what_fitted_and_leave_no_parts(
    project, owner, tmp_path, small_disk
):
    headers = {"Authorization": f"Token {Token.objects.create(user=owner).key}"}
    filler = small_disk / "filler.bin"
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler.write_bytes(b"\0" * (free - 300_000))  # about 300 KB left
    web = None
    try:
        web, url = start_web(service_env(small_disk), tmp_path)
        small, big, other = _png(1, 120), _png(2, 600), _png(3, 120)
        mixed = _post(url, project, headers, small, big, other)
        assert mixed.status_code == 201, mixed.text
        body = mixed.json()
        assert len(body["created"]) == 1
        reasons = [e["reason"] for e in body["errors"]]
        assert "storage is full" in reasons[0] and "not tried" in reasons[1]

        full = _post(url, project, headers, big)
        assert full.status_code == 507 and full.json()["code"] == "storage_full"
        assert not list(small_disk.rglob("*.part"))
        stored = list(Image.objects.filter(project=project))
        assert len(stored) == 1 and (small_disk / stored[0].file.name).stat().st_size == len(small)

        filler.unlink()
        assert _post(url, project, headers, big).status_code == 201
        assert Image.objects.filter(project=project).count() == 2
    finally:
        if web:
            web.stop()


def test_an_export_that_outgrows_a_full_temporary_disk_says_so_and_leaves_nothing(
    labelled_project, owner, client_for, small_disk, settings, monkeypatch
):
    import tempfile

    settings.EXPORT_MEMORY_MB = 0  # straight to the temporary file, on the small disk
    monkeypatch.setattr(tempfile, "tempdir", str(small_disk))
    filler = small_disk / "filler.bin"
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler.write_bytes(b"\0" * (free - 8192))
    url = f"/api/projects/{labelled_project.pk}/export/?format=masks"

    full = client_for(owner).get(url)
    assert full.status_code == 507 and full.json()["code"] == "storage_full"
    assert [p.name for p in small_disk.iterdir()] == ["filler.bin"]

    filler.unlink()
    exported = client_for(owner).get(url)
    assert exported.status_code == 200 and b"".join(exported.streaming_content)[:2] == b"PK"
