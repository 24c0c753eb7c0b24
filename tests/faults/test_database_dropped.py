"""PostgreSQL dropped under a running web process (through a proxy in front of the machine's
server, which is never touched): API calls and pages answer 503 with retry advice, nothing is
half-written, and requests succeed again within seconds of the database coming back."""

import logging
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token

from annotation.models import Image
from tests.conftest import make_image, png_bytes
from tests.processes import service_env, start_web
from tests.tcp_proxy import TcpProxy

log = logging.getLogger(__name__)  # recovery times: run with --log-cli-level=INFO

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _files(root) -> set[str]:
    return {str(p) for p in Path(root).rglob("*") if p.is_file()}


def _upload(url, project, headers):
    files = {"files": ("part.png", png_bytes(make_image(11)), "image/png")}
    return requests.post(
        f"{url}/api/projects/{project.pk}/images/", files=files, headers=headers, timeout=30
    )


def test_a_dropped_database_is_a_503_with_retry_advice_and_nothing_half_written(
    project, owner, tmp_path
):
    headers = {"Authorization": f"Token {Token.objects.create(user=owner).key}"}
    db = connection.settings_dict
    proxy = TcpProxy(int(db["PORT"] or 5432))
    proxied = f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}"
    env = service_env(settings.MEDIA_ROOT, DATABASE_URL=proxied)
    web = None
    try:
        web, url = start_web(env, tmp_path)
        assert requests.get(f"{url}/api/projects/", headers=headers, timeout=10).status_code == 200
        browser = requests.Session()
        browser.get(f"{url}/login/", timeout=10)
        signed_in = browser.post(
            f"{url}/login/",
            data={
                "username": "owner",
                "password": "pw-12345678",
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
            headers={"Referer": f"{url}/login/"},
            timeout=10,
        )
        assert signed_in.status_code == 200 and "/login/" not in signed_in.url
        images, files = Image.objects.count(), _files(settings.MEDIA_ROOT)

        proxy.cut()
        api = requests.get(f"{url}/api/projects/", headers=headers, timeout=30)
        assert api.status_code == 503 and api.headers["Retry-After"] == "5"
        assert api.json()["code"] == "database_unavailable"
        upload = _upload(url, project, headers)
        assert upload.status_code == 503 and upload.json()["code"] == "database_unavailable"
        page = browser.get(f"{url}/projects/", timeout=30)
        assert page.status_code == 503 and "retry in a few seconds" in page.text
        assert requests.get(f"{url}/healthz", timeout=10).status_code == 200  # alive
        ready = requests.get(f"{url}/readyz", timeout=30)
        assert ready.status_code == 503 and "database" in ready.json()["failing"]
        # Nothing was written while it was gone (this test reads the server directly).
        assert Image.objects.count() == images and _files(settings.MEDIA_ROOT) == files

        proxy.restore()
        back_at, started = None, time.monotonic()
        while time.monotonic() - started < 15:
            if requests.get(f"{url}/api/projects/", headers=headers, timeout=10).ok:
                back_at = time.monotonic() - started
                break
            time.sleep(0.2)
        assert back_at is not None and back_at < 10, "the web process did not recover"
        log.info(f"recovery: requests served again {back_at:.2f} s after PostgreSQL came back")
        assert _upload(url, project, headers).status_code == 201
        assert browser.get(f"{url}/projects/", timeout=10).status_code == 200
        assert Image.objects.count() == images + 1
    finally:
        if web:
            web.stop()
        proxy.close()
