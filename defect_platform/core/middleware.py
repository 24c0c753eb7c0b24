import logging

from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.utils.html import escape

from defect_platform.core import database_errors, metrics

log = logging.getLogger(__name__)


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        metrics.count_request(request.method, response.status_code)
        return response


class DatabaseErrorMiddleware:
    """Database faults outside the API views (pages, probes) get the same answers as the API
    (database_errors.py): a database that is down or restarting is a 503 with retry advice, not
    a 500, so clients and load balancers retry, and nothing was half-written (each save is one
    transaction). The API's own handler does the same for API views (api_errors.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DatabaseError):
            return None
        answer = database_errors.answer_for(exception)
        if answer is None:
            return None  # a bug: Django's 500 handling logs it
        log.warning("database error for %s %s: %s", request.method, request.path, exception)
        if request.path.startswith("/api/"):
            response = JsonResponse(answer.body(), status=answer.status)
        else:
            title = "Unavailable" if answer.status == 503 else "Not saved"
            response = HttpResponse(
                f"<!doctype html><title>{title}</title><h1>{title}</h1>"
                f"<p>{escape(answer.detail)}</p>",
                status=answer.status,
            )
        if answer.retry_after_s:
            response["Retry-After"] = str(answer.retry_after_s)
        return response
