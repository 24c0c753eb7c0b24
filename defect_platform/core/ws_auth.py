"""Websocket authentication: the browser's session, or an API token for external clients.

A token (a user's, or a service token `dps_…`) may come as `Authorization: Token <key>`
(`Bearer` for service tokens) or, since browsers cannot set headers on a
websocket, as a `token` query parameter.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    from defect_platform.core import service_tokens

    if key.startswith(service_tokens.PREFIX):
        # Watching a stream is reading: a service token needs its read (or write) scope.
        return service_tokens.user_for_key(key, needed="read")
    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return None
    return token.user if token.user.is_active else None


def _token_from_scope(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.decode("latin-1").split()
            if len(parts) == 2 and parts[0].lower() in ("token", "bearer"):
                return parts[1]
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("token")
    return values[0] if values else None


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        key = _token_from_scope(scope)
        if key:
            user = await _user_for_token(key)
            scope = dict(scope, user=user or AnonymousUser())
        return await super().__call__(scope, receive, send)


def AuthStack(inner):  # noqa: N802 - named like channels' AuthMiddlewareStack
    # Session auth runs first and sets scope["user"]; a token, when given, wins.
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))
