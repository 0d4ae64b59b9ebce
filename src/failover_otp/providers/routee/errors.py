"""How Routee's HTTP answers map onto the provider error tree. Pure: no I/O, table-tested.

Routee errors are ``{"code": "<9 digits>", "developerMessage": "..."}`` where the first three
digits repeat the HTTP status (reference §6.1). The mapping decides, for every failed answer to a
*send*, whether a retry can double the message:

====================  =====================================================================
answer                becomes
====================  =====================================================================
400001009             ``SendRefused(INSUFFICIENT_BALANCE)``
other 4xx             ``SendRefused(INVALID_REQUEST, developerMessage (code))``
401 / 403             ``SendRefused(SERVER_ERROR)`` (only reached after one token refresh)
429, 500-503          ``ProviderUnavailable``: Routee did not take the message, retry is safe
504                   ``SendOutcomeUnknown``: a gateway gave up waiting for Routee, which may
                      have accepted the message, so it must be looked up before any retry
other 5xx             ``ProviderUnavailable``
====================  =====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from failover_otp.domain.statuses import RejectReason
from failover_otp.providers.base import (
    ProviderError,
    ProviderUnavailable,
    SendOutcomeUnknown,
    SendRefused,
)

INSUFFICIENT_BALANCE = "400001009"
BAD_SENDER = "400005000"
SMS_TRACKING_NOT_FOUND = "404005000"
VIBER_TRACKING_NOT_FOUND = "404019006"

_RETRYABLE = frozenset({429, 500, 502, 503})
_AMBIGUOUS = frozenset({504})
_MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class RouteeError:
    """A failed answer, read leniently: any field may be missing or of the wrong type."""

    http_status: int
    code: str
    message: str

    def describe(self) -> str:
        return f"{self.message} ({self.code})" if self.code else self.message


def read_error(http_status: int, payload: Any, raw: bytes = b"") -> RouteeError:
    """The error an answer carries; falls back to the raw text when the body is not Routee's."""
    code = ""
    message = ""
    if isinstance(payload, dict):
        code = str(payload.get("code") or "")
        message = str(
            payload.get("developerMessage")
            or payload.get("error_description")
            or payload.get("message")
            or payload.get("error")
            or ""
        )
    if not message:
        text = raw.decode("utf-8", "replace").strip()[:_MAX_TEXT]
        message = f"HTTP {http_status}" + (f": {text}" if text else " with an empty body")
    return RouteeError(http_status, code, message)


def send_failure(error: RouteeError) -> ProviderError:
    """The exception a failed answer to a send becomes (see the module's table)."""
    status = error.http_status
    if error.code == INSUFFICIENT_BALANCE:
        return SendRefused(RejectReason.INSUFFICIENT_BALANCE, error.describe())
    if status in (401, 403):
        return SendRefused(
            RejectReason.SERVER_ERROR,
            f"Routee refused our access token even after a refresh: {error.describe()}",
        )
    if status in _RETRYABLE:
        return ProviderUnavailable(f"Routee is unavailable: {error.describe()}")
    if status in _AMBIGUOUS:
        return SendOutcomeUnknown(f"Routee's gateway timed out: {error.describe()}")
    if 400 <= status < 500:
        return SendRefused(RejectReason.INVALID_REQUEST, error.describe())
    return ProviderUnavailable(f"Routee failed: {error.describe()}")


def token_failure(error: RouteeError) -> ProviderError:
    """The exception a failed token request becomes: bad credentials are permanent."""
    if error.http_status in (400, 401, 403):
        return SendRefused(
            RejectReason.SERVER_ERROR,
            f"Routee rejected the application credentials: {error.describe()}",
        )
    return ProviderUnavailable(f"Routee's token endpoint failed: {error.describe()}")


def retry_after_seconds(header: str | None) -> float | None:
    """``Retry-After`` in seconds when given as a number (HTTP dates are ignored)."""
    if not header:
        return None
    try:
        value = float(header.strip())
    except ValueError:
        return None
    return value if value >= 0 else None
