"""What a use case refuses, in the service's own terms: a kind (the class), a stable machine
``code``, a human ``message`` and, where it helps, ``details`` and ``retry_after``.

No HTTP here: ``web/error_handlers.py`` is the one place that maps each kind to a status code,
headers and the documented error body.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        if code is not None:
            self.code = code


class Malformed(ServiceError):
    """The input cannot be read at all (a provider callback's body)."""


class Invalid(ServiceError):
    """The input is readable but wrong: ``details`` name where (``loc``) and why."""

    code = "validation_failed"


class Refused(ServiceError):
    """A valid request the service's policy will not carry out (a destination's number type or
    country, an Idempotency-Key reused with another body); ``code`` says which rule."""

    code = "refused"


class Unauthenticated(ServiceError):
    """No caller, or not one the service knows (a missing or expired access token)."""

    code = "unauthorized"


class NotFound(ServiceError):
    code = "not_found"


class _Retryable(ServiceError):
    """A refusal of the moment: the same request may succeed ``retry_after`` seconds later."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: int,
        details: list[dict[str, Any]] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, details=details, code=code)
        self.retry_after = retry_after


class Conflict(_Retryable):
    """Another request holds what this one needs (the first request of an Idempotency-Key is
    still running)."""

    code = "conflict"


class RateLimited(_Retryable):
    """A send limit or the daily spend cap (docs/security.md)."""

    code = "rate_limited"


class Unavailable(_Retryable):
    """The service cannot take the request now (overload, a database refusing writes)."""

    code = "service_unavailable"


def shown(value: str, limit: int = 40) -> str:
    """``value`` quoted for an error message, cut to ``limit`` characters: a message names the
    input it refuses without echoing a huge one back."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value)} characters)"
