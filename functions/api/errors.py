"""The one table from domain errors to HTTP statuses, and the JSON error body."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from shared.domain import errors

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.ValidationError: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.QuotaExceeded: 413,
    errors.UnsupportedMediaType: 415,
    errors.UnreadableMedia: 422,
    errors.RejectedMedia: 422,
    errors.Unprocessable: 422,
    errors.TooManyAttempts: 429,
    errors.Unavailable: 503,
}


def status_for(error: errors.DomainError) -> int:
    """HTTP status of a domain error (its nearest mapped base class; 500 if none)."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_body(code: str, message: str) -> dict[str, str]:
    """The body every error response carries."""
    return {"code": code, "message": message}


def error_response(error: errors.DomainError) -> Response:
    """A JSON error response for a domain error (a 400 has the validation body, naming its field if it has one)."""
    body: dict[str, Any] = dict(error_body(error.code, error.message))
    if isinstance(error, errors.ValidationError):
        body["errors"] = [{"field": error.field, "problem": error.message}] if error.field else []
    headers: dict[str, str | list[str]] = {}
    if isinstance(error, errors.TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after)
    return Response(body=body, status_code=status_for(error), headers=headers)
