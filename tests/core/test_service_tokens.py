"""Service accounts with scoped, expiring tokens, as an external system uses them."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from defect_platform.core.models import AuditLogEntry, ServiceToken
from tests.conftest import make_image, png_bytes

pytestmark = pytest.mark.django_db


def _create(client, project, **body):
    body = {"name": "MES gateway", "scopes": ["read"], "days": 30} | body
    return client.post(f"/api/projects/{project.pk}/service-tokens/", body, format="json")


def _bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_an_owner_makes_a_token_whose_scopes_bound_what_it_may_do(
    client_for, owner, project, other_project
):
    made = _create(client_for(owner), project, scopes=["read"])
    assert made.status_code == 201, made.json()
    key = made.json()["key"]
    assert key.startswith("dps_") and made.json()["account"].startswith("svc-")
    listed = client_for(owner).get(f"/api/projects/{project.pk}/service-tokens/").json()
    assert [t["key_prefix"] for t in listed] == [key[:12]] and "key" not in listed[0]
    assert not ServiceToken.objects.filter(key_hash__contains=key[4:20]).exists()  # hash only
    entry = AuditLogEntry.objects.get(action="token.created")
    assert entry.project == project and entry.detail["scopes"] == ["read"]

    reader = _bearer(key)
    projects = reader.get("/api/projects/").json()["results"]
    assert [p["id"] for p in projects] == [project.pk]  # the account's one project
    assert reader.get(f"/api/projects/{other_project.pk}/").status_code == 404
    denied = reader.post(f"/api/projects/{project.pk}/jobs/", {"epochs": 1}, format="json")
    assert denied.status_code == 403 and "'write' scope" in denied.json()["detail"]
    upload = {"project": project.pk, "images": [_png()]}
    assert reader.post("/api/inspect/", upload, format="multipart").status_code == 403

    inspector = _bearer(_create(client_for(owner), project, scopes=["inspect"]).json()["key"])
    inspected = inspector.post("/api/inspect/", {"project": project.pk, "images": [_png()]})
    assert inspected.status_code == 409 and inspected.json()["code"] == "no_model"  # got in
    assert inspector.get("/api/projects/").status_code == 403  # no read scope


def test_expired_revoked_and_unknown_tokens_are_refused_with_the_reason(
    client_for, owner, annotator, project
):
    body = _create(client_for(owner), project).json()
    client = _bearer(body["key"])
    assert client.get("/api/projects/").status_code == 200
    token = ServiceToken.objects.get(pk=body["id"])
    assert token.last_used_at is not None

    token.expires_at = timezone.now() - timedelta(minutes=1)
    token.save()
    expired = client.get("/api/projects/")
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    token.expires_at = timezone.now() + timedelta(days=1)
    token.save()

    # Only the project's owners revoke; the row stays for the record.
    assert client_for(annotator).delete(f"/api/service-tokens/{token.pk}/").status_code == 403
    assert client_for(owner).delete(f"/api/service-tokens/{token.pk}/").status_code == 200
    revoked = client.get("/api/projects/")
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    assert AuditLogEntry.objects.filter(action="token.revoked", project=project).count() == 1

    unknown = _bearer("dps_" + "x" * 43).get("/api/projects/")
    assert unknown.status_code == 401 and "Unknown token" in unknown.json()["detail"]
    # The service account has no password: the token is the only way in.
    signed_in = APIClient().post(
        "/api/auth/token/", {"username": body["account"], "password": ""}, format="json"
    )
    assert signed_in.status_code in (400, 401)


def test_bad_requests_for_tokens_are_refused_before_anything_is_made(
    client_for, owner, annotator, project
):
    client = client_for(owner)
    assert _create(client, project, days=1000).status_code == 400
    assert _create(client, project, scopes=[]).status_code == 400
    assert _create(client, project, scopes=["admin"]).status_code == 400
    assert _create(client, project, role="owner").status_code == 400  # machines own nothing
    assert _create(client_for(annotator), project).status_code == 403
    assert ServiceToken.objects.count() == 0


def _png():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("view.png", png_bytes(make_image(5)), "image/png")


@pytest.mark.django_db(transaction=True)
def test_websockets_take_service_tokens_with_the_read_scope(client_for, owner, project):
    import asyncio

    from channels.testing import WebsocketCommunicator

    from defect_platform.asgi import application

    reader = _create(client_for(owner), project, scopes=["read"]).json()["key"]
    inspect_only = _create(client_for(owner), project, scopes=["inspect"]).json()["key"]

    async def first_message(key):
        client = WebsocketCommunicator(
            application,
            f"/ws/projects/{project.pk}/events/?token={key}",
            headers=[(b"origin", b"http://localhost")],
        )
        assert (await client.connect())[0]
        message = await client.receive_output(timeout=5)
        await client.disconnect()
        return message

    hello = asyncio.run(first_message(reader))
    assert hello["type"] == "websocket.send" and '"hello"' in hello["text"]
    refused = asyncio.run(first_message(inspect_only))
    assert refused == {"type": "websocket.close", "code": 4401}
