"""How large a request body may be, enforced before anything parses it.

Every route takes up to MAX_UPLOAD_MB; the dataset import takes up to MAX_IMPORT_MB (archives
are far larger than any image, mask or form). Django's own DATA_UPLOAD_MAX_MEMORY_SIZE skips
file parts, so without this an image, inspect or mask upload had no cap at all.

Two gates answer 413 with the API's error body:
- BodyLimitMiddleware (Django, WSGI and ASGI alike) refuses a Content-Length above the limit.
  Under WSGI that is the whole story: Django reads no more than Content-Length.
- AsgiBodyLimit wraps the ASGI application: it refuses an announced length before Django
  reads anything, and counts the bytes of a body sent without one (chunked), stopping at the
  limit instead of letting Django spool the rest.
"""

from __future__ import annotations

from typing import NamedTuple

from django.conf import settings
from django.http import JsonResponse
from django.urls import Resolver404, resolve

IMPORT_ROUTES = frozenset({"api-project-import"})


class Limit(NamedTuple):
    bytes: int
    setting: str  # the environment variable that sets it, named in the refusal


def limit_for(path: str) -> Limit:
    try:
        name = resolve(path).url_name
    except Resolver404:
        name = None
    if name in IMPORT_ROUTES:
        return Limit(settings.MAX_IMPORT_BYTES, "MAX_IMPORT_MB")
    return Limit(settings.MAX_UPLOAD_BYTES, "MAX_UPLOAD_MB")


def _smallest_limit() -> int:
    """Bodies up to this size pass every route: no need to look the route up."""
    return min(settings.MAX_UPLOAD_BYTES, settings.MAX_IMPORT_BYTES)


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.4g} MB"


def refusal(limit: Limit, size: int | None = None) -> dict:
    """The 413 body: how large the body was (when announced) and what the route accepts."""
    said = f"The request body ({_megabytes(size)})" if size is not None else "The request body"
    return {
        "detail": f"{said} is larger than the {_megabytes(limit.bytes)} this endpoint accepts "
        f"({limit.setting}). Send smaller or fewer files per request.",
        "code": "too_large",
        "errors": {},
    }


def _content_length(raw) -> int | None:
    try:
        length = int(raw)
    except (TypeError, ValueError):
        return None
    return length if length >= 0 else None


class BodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = _content_length(request.META.get("CONTENT_LENGTH"))
        if length is not None and length > _smallest_limit():
            limit = limit_for(request.path_info)
            if length > limit.bytes:
                return JsonResponse(refusal(limit, length), status=413)
        return self.get_response(request)


class AsgiBodyLimit:
    """ASGI middleware in front of Django's HTTP application."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = _content_length(headers.get(b"content-length", b"").decode("latin1") or None)
        limit: Limit | None = None
        if length is not None and length > _smallest_limit():
            limit = limit_for(scope["path"])
            if length > limit.bytes:
                return await _refuse(send, limit, length)
        received = 0
        over: Limit | None = None

        async def counted_receive():
            nonlocal received, limit, over
            message = await receive()
            if message["type"] == "http.request" and over is None:
                received += len(message.get("body", b""))
                if received > _smallest_limit():
                    limit = limit or limit_for(scope["path"])
                    if received > limit.bytes:
                        # Django treats a disconnect while reading the body as an aborted
                        # request and answers nothing, which leaves the answer to us.
                        over = limit
                        return {"type": "http.disconnect"}
            return message

        await self.app(scope, counted_receive, send)
        if over is not None:
            await _refuse(send, over, None)


async def _refuse(send, limit: Limit, size: int | None) -> None:
    response = JsonResponse(refusal(limit, size), status=413)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(response.content)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": response.content})
