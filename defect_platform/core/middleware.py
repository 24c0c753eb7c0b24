import logging

from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse

from defect_platform.core import metrics

log = logging.getLogger(__name__)
RETRY_AFTER_S = 5


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        metrics.count_request(request.method, response.status_code)
        return response


class DatabaseUnavailableMiddleware:
    """A database that is down or restarting is a 503 with retry advice, not a 500: clients
    and load balancers retry, and nothing was half-written (each save is one transaction).
    The API's own handler does the same for API views (api_errors.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DatabaseError):
            return None
        log.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
        detail = "The database is unavailable; retry in a few seconds."
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {"detail": detail, "code": "database_unavailable", "errors": {}}, status=503
            )
        else:
            response = HttpResponse(
                f"<!doctype html><title>Unavailable</title><h1>Unavailable</h1><p>{detail}</p>",
                status=503,
            )
        response["Retry-After"] = str(RETRY_AFTER_S)
        return response
