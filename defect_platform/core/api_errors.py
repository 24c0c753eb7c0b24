"""One error body for every API failure: {"detail": str, "code": str, "errors": {field: [msg]}}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


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
    if isinstance(exc, DatabaseError):
        response = Response(
            {
                "detail": "The database is unavailable; retry in a few seconds.",
                "code": "database_unavailable",
                "errors": {},
            },
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
        return response
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
