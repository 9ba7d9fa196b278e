"""Errors as RFC 9457 ``application/problem+json``, from Herald's own exceptions.

Each problem carries the one-line reason the CLI prints as ``detail``, and the field at
fault when it is known. Nothing from a traceback ever reaches a response.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from herald.errors import (
    Conflict,
    HeraldError,
    InvalidInput,
    NotFound,
    TokenRefused,
    Unavailable,
)
from herald.service.base import one_line

PROBLEM_BASE = "https://herald.dev/problems/"
MEDIA_TYPE = "application/problem+json"
RETRY_AFTER = 5  # seconds, on 503

TITLES = {
    "malformed-body": "Malformed request body",
    "invalid-body": "Invalid request body",
    "invalid-input": "Invalid input",
    "invalid-parameter": "Invalid path or query parameter",
    "unsupported-media-type": "Unsupported media type",
    "invalid-header": "Invalid header",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "conflict": "Conflicting state",
    "idempotency-in-progress": "Request with this Idempotency-Key still in progress",
    "idempotency-key-reused": "Idempotency-Key reused with another request",
    "body-too-large": "Request body too large",
    "body-timeout": "Request body too slow",
    "unauthorized": "Unauthorized",
    "forbidden": "Forbidden",
    "unavailable": "Service unavailable",
    "herald-error": "Herald failed",
    "server-error": "Internal server error",
}


class ProblemError(Exception):
    """A problem to answer, raised anywhere in the API's own code."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.field = field
        self.headers = headers or {}


def problem_body(status: int, slug: str, detail: str, field: str | None = None) -> bytes:
    doc: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": TITLES.get(slug, slug),
        "status": status,
        "detail": one_line(detail, 2000),
    }
    if field:
        doc["field"] = field
    return json.dumps(doc, ensure_ascii=False).encode()


def database_down(err: BaseException) -> bool:
    return isinstance(err, OperationalError | InterfaceError | PoolTimeout)


def from_exception(err: BaseException) -> ProblemError | None:
    """The problem for one of Herald's errors (or a database outage); None: unexpected."""
    if isinstance(err, ProblemError):
        return err
    if isinstance(err, NotFound):
        return ProblemError(404, "not-found", str(err))
    if isinstance(err, Conflict):
        return ProblemError(409, "conflict", str(err))
    if isinstance(err, InvalidInput):
        return ProblemError(422, "invalid-input", str(err), field=getattr(err, "field", None))
    if isinstance(err, TokenRefused):
        challenge = 'Bearer realm="herald", error="invalid_token"'
        return ProblemError(401, "unauthorized", str(err), headers={"WWW-Authenticate": challenge})
    if isinstance(err, Unavailable):
        return ProblemError(503, "unavailable", str(err), headers={"Retry-After": str(RETRY_AFTER)})
    if isinstance(err, HeraldError):
        return ProblemError(500, "herald-error", str(err))
    if database_down(err):
        return ProblemError(
            503,
            "unavailable",
            "the database cannot be reached; retry later",
            headers={"Retry-After": str(RETRY_AFTER)},
        )
    return None
