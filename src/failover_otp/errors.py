"""Errors the API reports: a stable machine code, a human message, the HTTP status."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status_code = 400
    code = "bad_request"
    # Extra response headers (e.g. Retry-After on 429).
    headers: dict[str, str] | None = None

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class ValidationFailed(ApiError):
    status_code = 422
    code = "validation_failed"


class Unauthorized(ApiError):
    status_code = 401
    code = "unauthorized"


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class TooManyRequests(ApiError):
    """429 with ``Retry-After``: a send limit or the spend cap (docs/security.md)."""

    status_code = 429
    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after: int,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}
        if code is not None:
            self.code = code


def shown(value: str, limit: int = 40) -> str:
    """``value`` quoted for an error message, cut to ``limit`` characters: a message names the
    input it refuses without echoing a huge one back."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value)} characters)"
