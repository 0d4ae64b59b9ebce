"""The errors the client raises: one class per documented answer (docs/api.md, "Errors").

Every one is an :class:`ApiClientError` (``status``, ``code``, ``body``, ``headers``), so code
that catches that (as earlier versions asked) catches them all; the subclasses let a caller
catch exactly what it handles::

    try:
        api.send_otp(phone)
    except RateLimited as limited:          # 429: a send limit, or the spend cap
        retry_in(limited.retry_after)
    except ValidationFailed as invalid:     # 422
        show(invalid.problems)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApiClientError(Exception):
    """The service answered with an error (``status`` ≥ 400), or could not be reached (0)."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        message = body.get("message") if isinstance(body, dict) else str(body)
        super().__init__(f"HTTP {status}: {message}" if status else str(message))
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    @property
    def code(self) -> str | None:
        """The error's stable machine code (``validation_failed``, ``rate_limited``, ...)."""
        code = self.body.get("code") if isinstance(self.body, dict) else None
        return str(code) if code is not None else None

    @property
    def message(self) -> str:
        """The service's human message."""
        message = self.body.get("message") if isinstance(self.body, dict) else None
        return str(message) if message is not None else str(self)

    @property
    def problems(self) -> list[dict[str, Any]]:
        """The body's ``detail`` items: per-field problems, or the limit that applied."""
        detail = self.body.get("detail") if isinstance(self.body, dict) else None
        return [d for d in detail if isinstance(d, dict)] if isinstance(detail, list) else []


class ApiConnectionError(ApiClientError):
    """No answer: the connection failed or timed out (after the retries the policy allows)."""

    def __init__(self, error: Exception, url: str | None = None) -> None:
        where = f"cannot reach {url}: " if url else ""
        super().__init__(
            0, {"code": "connection_error", "message": f"{where}{type(error).__name__}: {error}"}
        )
        self.error = error
        self.url = url


class MalformedRequest(ApiClientError):
    """400 ``malformed_json`` (or another 400): the request could not be read."""


class Unauthorized(ApiClientError):
    """401: wrong credentials, or a token the service does not know (any more)."""


class NotFound(ApiClientError):
    """404 ``not_found``: no such flow, tracking or message for this application."""


class IdempotencyInProgress(ApiClientError):
    """409 ``idempotency_in_progress``: a request with this key is still running."""

    @property
    def retry_after(self) -> int | None:
        return _retry_after(self.headers)


class ValidationFailed(ApiClientError):
    """422 ``validation_failed``: see :attr:`problems` for what is wrong, field by field."""


class IdempotencyKeyReused(ValidationFailed):
    """422 ``idempotency_key_reused``: the key came with a different request before."""


class NumberTypeNotAllowed(ValidationFailed):
    """422 ``number_type_not_allowed``: premium-rate, toll-free, VoIP... numbers are refused."""


class CountryNotAllowed(ValidationFailed):
    """422 ``country_not_allowed``: the deployment's country allow-list refused the number."""


class RateLimited(ApiClientError):
    """429 ``rate_limited``: a send limit; try again in :attr:`retry_after` seconds."""

    @property
    def retry_after(self) -> int | None:
        return _retry_after(self.headers)


class SpendCapReached(RateLimited):
    """429 ``spend_cap_reached``: the application's daily spend cap (until UTC midnight)."""


class ServerError(ApiClientError):
    """5xx: the service (or its database) failed; safe requests were already retried."""


def _retry_after(headers: Mapping[str, str]) -> int | None:
    value = {k.lower(): v for k, v in headers.items()}.get("retry-after", "")
    return int(value) if value.isdigit() else None


_BY_STATUS: dict[int, type[ApiClientError]] = {
    400: MalformedRequest,
    401: Unauthorized,
    404: NotFound,
    409: IdempotencyInProgress,
    422: ValidationFailed,
    429: RateLimited,
}
# The codes that refine a status (docs/api.md, "Errors").
_BY_CODE: dict[tuple[int, str], type[ApiClientError]] = {
    (422, "idempotency_key_reused"): IdempotencyKeyReused,
    (422, "number_type_not_allowed"): NumberTypeNotAllowed,
    (422, "country_not_allowed"): CountryNotAllowed,
    (429, "spend_cap_reached"): SpendCapReached,
}


def error_for(status: int, body: Any, headers: Mapping[str, str] | None = None) -> ApiClientError:
    """The exception an error answer raises: by its status and ``code``."""
    code = body.get("code") if isinstance(body, dict) else None
    kind = _BY_CODE.get((status, str(code))) or _BY_STATUS.get(status)
    if kind is None:
        kind = ServerError if status >= 500 else ApiClientError
    return kind(status, body, headers)
