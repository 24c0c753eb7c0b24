"""Liveness, readiness and Prometheus metrics endpoints."""

from __future__ import annotations

import concurrent.futures
import os

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from defect_platform.core import metrics

CHECK_TIMEOUT_S = 3.0
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"]
        if not (os.path.isdir(folder) and os.access(folder, os.W_OK)):
            raise RuntimeError(f"broker folder {folder} is missing or not writable")
        return
    from defect_platform.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_S)


def check_channel_layer() -> None:
    if not settings.REDIS_URL:
        return  # the in-memory layer lives in this process
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=CHECK_TIMEOUT_S, socket_timeout=CHECK_TIMEOUT_S
    )
    try:
        client.ping()
    finally:
        client.close()


CHECKS = {"database": check_database, "broker": check_broker, "channel_layer": check_channel_layer}


def _run_check(check) -> str:
    try:
        check()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return "ok"


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    results = {}
    # The database check runs here: Django connections belong to their thread.
    results["database"] = _run_check(check_database)
    futures = {
        name: _pool.submit(_run_check, check)
        for name, check in CHECKS.items()
        if name != "database"
    }
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=CHECK_TIMEOUT_S + 1)
        except concurrent.futures.TimeoutError:
            results[name] = f"no answer within {CHECK_TIMEOUT_S:.0f} s"
    failing = [name for name, result in results.items() if result != "ok"]
    body = {"status": "ok" if not failing else "unavailable", "checks": results}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)


@require_GET
def prometheus_metrics(request):
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")
