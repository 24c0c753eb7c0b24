"""Database exceptions get the answer their cause calls for: a connection-level fault is a 503
with retry advice, a duplicate written by a concurrent request a 409, a value the database
cannot hold a 400, and anything else a 500. Every exception here is raised by PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from defect_platform.core.api_errors import exception_handler
from defect_platform.core.middleware import DatabaseErrorMiddleware
from defect_platform.core.models import Membership, Project


def _raised_by(sql: str) -> DatabaseError:
    """The exception PostgreSQL raises for `sql`, its transaction rolled back."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    except DatabaseError as exc:
        return exc
    raise AssertionError(f"{sql} raised nothing")


def _page_answer(exc):
    request = RequestFactory().get("/projects/")
    return DatabaseErrorMiddleware(lambda r: None).process_exception(request, exc)


@pytest.mark.django_db
def test_a_connection_level_fault_is_a_503_with_retry_advice():
    # A statement timeout is an OperationalError, as a dropped or restarting server is.
    exc = _raised_by("SET LOCAL statement_timeout = 1; SELECT pg_sleep(1)")
    response = exception_handler(exc, {})
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.data["code"] == "database_unavailable"
    page = _page_answer(exc)
    assert page.status_code == 503 and page["Retry-After"] == "5"


@pytest.mark.django_db
def test_a_value_the_database_cannot_hold_is_a_400_naming_why():
    exc = _raised_by("SELECT 99999999999::integer")
    response = exception_handler(exc, {})
    assert response.status_code == 400 and "Retry-After" not in response
    assert response.data["code"] == "invalid"
    assert "out of range" in response.data["detail"], response.data
    assert _page_answer(exc).status_code == 400


@pytest.mark.django_db
def test_other_database_errors_stay_server_errors():
    exc = _raised_by("SELECT * FROM no_such_table_here")
    assert exception_handler(exc, {}) is None  # DRF re-raises it: a logged 500
    assert _page_answer(exc) is None


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_written_by_a_concurrent_request_is_a_409(make_user, client_for):
    """Another session inserts the same project slug and holds it uncommitted: the API's
    uniqueness check cannot see it, the request's insert waits on it, and fails once it
    commits. The client gets a 409 and the request wrote nothing."""
    admin = make_user("admin", staff=True)
    held, failures = threading.Event(), []

    def hold_the_slug():
        try:
            with transaction.atomic():
                Project.objects.create(name="Held", slug="racer")
                held.set()
                deadline = time.monotonic() + 15
                with connection.cursor() as cursor:
                    while time.monotonic() < deadline:
                        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                        if cursor.fetchone()[0]:
                            break  # the request's insert waits on this row: commit now
                        time.sleep(0.05)
                    else:
                        failures.append("the request never waited on the held row")
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_slug)
    holder.start()
    assert held.wait(10)
    response = client_for(admin).post(
        "/api/projects/", {"name": "Racer", "slug": "racer"}, format="json"
    )
    holder.join(20)
    assert failures == []
    assert response.status_code == 409, response.json()
    body = response.json()
    assert body["code"] == "conflict" and "same moment" in body["detail"]
    assert set(body) == {"detail", "code", "errors"}
    assert list(Project.objects.filter(slug="racer").values_list("name", flat=True)) == ["Held"]
    assert not Membership.objects.filter(user=admin).exists()
