"""Service accounts and their scoped, expiring API tokens (`Authorization: Bearer dps_…`).

A service account is a user with one role in a project, made for a machine: it has no
password, so the token is the only way in. The token narrows what the role allows to its
scopes: "read" (GET and other safe methods), "inspect" (views marked `token_scope =
"inspect"`: inspect and trigger), "write" (every other change; it implies read).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from defect_platform.core import audit_log
from defect_platform.core.models import Membership, ServiceToken
from defect_platform.core.roles import Role

PREFIX = "dps_"
MAX_DAYS = 366
# A machine never owns or reviews: those roles stay with people.
ROLES = (Role.INSPECTOR, Role.ENGINEER, Role.ANNOTATOR)
USED_EVERY_S = 60  # last_used_at is written at most this often per token


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create(project, creator, name: str, role: str, scopes: list[str], days: int):
    """A new service account in `project` (or the existing one of that name) and a token for
    it; returns (token, key). The key is not stored: show it now."""
    username = f"svc-{project.slug}-{slugify(name)}"[:150]
    key = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        user, made = get_user_model().objects.get_or_create(username=username)
        if made:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        Membership.objects.update_or_create(user=user, project=project, defaults={"role": role})
        token = ServiceToken.objects.create(
            name=name,
            user=user,
            project=project,
            key_prefix=key[:12],
            key_hash=_hash(key),
            scopes=sorted(set(scopes)),
            expires_at=timezone.now() + timedelta(days=days),
            created_by=creator,
        )
        audit_log.record(
            creator,
            audit_log.Action.TOKEN_CREATED,
            project,
            f"service token {token.name} ({token.key_prefix}…)",
            account=username,
            role=role,
            scopes=token.scopes,
            expires_at=token.expires_at.isoformat(),
        )
    return token, key


def revoke(token: ServiceToken, user) -> ServiceToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        with transaction.atomic():
            token.save(update_fields=["revoked_at"])
            audit_log.record(
                user,
                audit_log.Action.TOKEN_REVOKED,
                token.project,
                f"service token {token.name} ({token.key_prefix}…)",
            )
    return token


def check(key: str) -> ServiceToken:
    """The live token for `key`, or AuthenticationFailed saying why not."""
    token = (
        ServiceToken.objects.select_related("user").filter(key_hash=_hash(key)).first()
        if key.startswith(PREFIX)
        else None
    )
    now = timezone.now()
    if token is None:
        raise exceptions.AuthenticationFailed("Unknown token.")
    if token.revoked_at:
        raise exceptions.AuthenticationFailed(
            f"This token was revoked on {token.revoked_at:%Y-%m-%d}."
        )
    if token.expires_at <= now:
        raise exceptions.AuthenticationFailed(f"This token expired on {token.expires_at:%Y-%m-%d}.")
    if not token.user.is_active:
        raise exceptions.AuthenticationFailed("This token's service account is disabled.")
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > USED_EVERY_S:
        ServiceToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def allows(token: ServiceToken, needed: str) -> bool:
    scopes = set(token.scopes)
    return needed in scopes or (needed == "read" and "write" in scopes)


def user_for_key(key: str, needed: str):
    """The token's service account if the token is live and has the scope, else None."""
    try:
        token = check(key)
    except exceptions.AuthenticationFailed:
        return None
    return token.user if allows(token, needed) else None


class ServiceTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Give one token after Bearer.")
        token = check(header[1].decode("latin-1"))
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class TokenScope(permissions.BasePermission):
    """Requests with a service token stay within its scopes (other requests pass through)."""

    message = "This token's scopes do not allow this request."

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, ServiceToken):
            return True
        if request.method in permissions.SAFE_METHODS:
            needed = "read"
        else:
            needed = str(getattr(view, "token_scope", "write"))
        if not allows(token, needed):
            self.message = f"This token lacks the {needed!r} scope (it has {sorted(token.scopes)})."
            return False
        return True


class ServiceTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes service tokens."""

    target_class = ServiceTokenAuthentication
    name = "serviceToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A project service token (dps_…) with read, inspect or write scope.",
        }
