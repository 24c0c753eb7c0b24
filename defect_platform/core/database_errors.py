"""What a database exception tells the client, for API views (api_errors.py) and pages
(middleware.py) alike.

Only connection-level faults (the server down, restarting or unreachable, a lock or
serialization timeout) are a 503 with retry advice: retrying the same request will work once
the database is back. A duplicate written by a concurrent request (IntegrityError) is a 409,
a value the database cannot hold (DataError) a 400; any other database error is a bug and
stays a 500 so that it is logged as one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DataError, IntegrityError, InterfaceError, OperationalError

RETRY_AFTER_S = 5


@dataclass(frozen=True)
class Answer:
    status: int
    code: str
    detail: str
    retry_after_s: int | None = None

    def body(self) -> dict:
        return {"detail": self.detail, "code": self.code, "errors": {}}


def answer_for(exc: BaseException) -> Answer | None:
    """The answer for a database exception, or None for a server error (500)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return Answer(
            503,
            "database_unavailable",
            "The database is unavailable; retry in a few seconds.",
            RETRY_AFTER_S,
        )
    if isinstance(exc, IntegrityError):
        return Answer(
            409,
            "conflict",
            "Another request changed the same data at the same moment (a duplicate, or a "
            "reference that was removed); this change was refused. Reload and try again.",
        )
    if isinstance(exc, DataError):
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "malformed value"
        return Answer(
            400,
            "invalid",
            f"A value does not fit the database ({reason}); the change was refused.",
        )
    return None
