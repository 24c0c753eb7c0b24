"""One error body for every API failure: {"detail": str, "code": str, "errors": {field: [msg]}}."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import DatabaseError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from defect_platform.core import database_errors
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


def _error(status_code: int, code: str, detail: str, headers=None) -> Response:
    return Response({"detail": detail, "code": code, "errors": {}}, status_code, headers=headers)


def _request_refused(exc) -> Response | None:
    """Django's own limits on a request body, met while parsing it (request_limits.py
    refuses most oversized bodies before that, by their length)."""
    if isinstance(exc, RequestDataTooBig):
        megabytes = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2**20
        return _error(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            "too_large",
            f"The request's form or JSON data is larger than {megabytes:.4g} MB (files aside); "
            "send less per request.",
        )
    if isinstance(exc, TooManyFieldsSent):
        return _error(
            status.HTTP_400_BAD_REQUEST,
            "too_many_fields",
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} form fields.",
        )
    if isinstance(exc, TooManyFilesSent):
        return _error(
            status.HTTP_400_BAD_REQUEST,
            "too_many_files",
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files; send "
            "them in several requests.",
        )
    return None


def _error_response(exc, context):
    if isinstance(exc, DatabaseError):
        answer = database_errors.answer_for(exc)
        if answer is None:
            return None  # a bug: re-raised, logged, and answered by server_error below
        retry = {"Retry-After": str(answer.retry_after_s)} if answer.retry_after_s else None
        return _error(answer.status, answer.code, answer.detail, retry)
    refused = _request_refused(exc)
    if refused is not None:
        return refused
    if isinstance(exc, StorageFull):
        return _error(status.HTTP_507_INSUFFICIENT_STORAGE, "storage_full", exc.strerror)
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
