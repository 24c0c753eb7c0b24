"""One error body for every API failure: {"detail": str, "code": str, "errors": {field: [msg]}}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from defect_platform.core.middleware import RETRY_AFTER_S
from defect_platform.core.storage import StorageFull


def _flatten(detail, prefix="") -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            out.update(_flatten(value, f"{prefix}{key}." if prefix or key else ""))
        return out
    if isinstance(detail, list) and detail and all(not isinstance(d, dict | list) for d in detail):
        return {prefix.rstrip(".") or "non_field_errors": [str(d) for d in detail]}
    if isinstance(detail, list):
        out = {}
        for i, value in enumerate(detail):
            out.update(_flatten(value, f"{prefix}{i}."))
        return out
    return {prefix.rstrip(".") or "non_field_errors": [str(detail)]}


def exception_handler(exc, context):
    response = _error_response(exc, context)
    request = context.get("request")
    if response is not None and request is not None:
        # Errors are JSON whatever was asked for (?format=csv included): the body is the one
        # error shape every client parses.
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = "application/json"
    return response


def _error_response(exc, context):
    if isinstance(exc, DatabaseError):
        response = Response(
            {
                "detail": "The database is unavailable; retry in a few seconds.",
                "code": "database_unavailable",
                "errors": {},
            },
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
        return response
    if isinstance(exc, StorageFull):
        return Response(
            {"detail": exc.strerror, "code": "storage_full", "errors": {}},
            status=status.HTTP_507_INSUFFICIENT_STORAGE,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first_field, first_messages = next(iter(errors.items()), ("", ["Invalid input."]))
        detail = (
            first_messages[0]
            if first_field == "non_field_errors"
            else f"{first_field}: {first_messages[0]}"
        )
        response.data = {"detail": detail, "code": "invalid", "errors": errors}
    else:
        if isinstance(exc, Http404):
            code = "not_found"
        elif isinstance(exc, PermissionDenied):
            code = "permission_denied"
        else:
            code = getattr(exc, "default_code", "error")
            if isinstance(exc, exceptions.APIException):
                codes = exc.get_codes()
                code = codes if isinstance(codes, str) else code
        detail = response.data.get("detail", "Error.") if isinstance(response.data, dict) else ""
        response.data = {"detail": str(detail), "code": code, "errors": {}}
    return response


def not_found(request, exception=None):
    """404 for a URL no route matches: the API's error body under /api/, else the page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "No such API route or object.", "code": "not_found", "errors": {}},
            status=404,
        )
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "Server error; it was logged.", "code": "server_error", "errors": {}},
            status=500,
        )
    return defaults.server_error(request)
