"""How Routee's failed answers map onto the provider error tree."""

from __future__ import annotations

import pytest

from failover_otp.domain.statuses import RejectReason
from failover_otp.providers.base import ProviderUnavailable, SendOutcomeUnknown, SendRefused
from failover_otp.providers.routee import errors


@pytest.mark.parametrize(
    ("status", "code", "expected", "reason"),
    [
        (400, "400001009", SendRefused, RejectReason.INSUFFICIENT_BALANCE),
        (400, "400005000", SendRefused, RejectReason.INVALID_REQUEST),
        (400, "400000000", SendRefused, RejectReason.INVALID_REQUEST),
        (404, "404020000", SendRefused, RejectReason.INVALID_REQUEST),
        (409, "", SendRefused, RejectReason.INVALID_REQUEST),
        (422, "", SendRefused, RejectReason.INVALID_REQUEST),
        (401, "401000000", SendRefused, RejectReason.SERVER_ERROR),
        (403, "403000000", SendRefused, RejectReason.SERVER_ERROR),
        (429, "", ProviderUnavailable, None),
        (500, "500000000", ProviderUnavailable, None),
        (502, "", ProviderUnavailable, None),
        (503, "503000000", ProviderUnavailable, None),
        (504, "", SendOutcomeUnknown, None),
        (599, "", ProviderUnavailable, None),
    ],
)
def test_send_failure_table(
    status: int, code: str, expected: type[Exception], reason: RejectReason | None
) -> None:
    """Only answers that prove the message was not taken are retryable; 504 is ambiguous."""
    failure = errors.send_failure(errors.RouteeError(status, code, "boom"))

    assert type(failure) is expected
    if reason is not None:
        assert isinstance(failure, SendRefused)
        assert failure.reason is reason


def test_refusal_message_names_routee_code() -> None:
    failure = errors.send_failure(errors.RouteeError(400, "400005000", "Invalid sender id"))

    assert isinstance(failure, SendRefused)
    assert failure.message == "Invalid sender id (400005000)"


@pytest.mark.parametrize(
    ("payload", "raw", "message", "code"),
    [
        ({"code": "400005000", "developerMessage": "bad sender"}, b"", "bad sender", "400005000"),
        ({"error": "invalid_client", "error_description": "Bad"}, b"", "Bad", ""),
        ({"message": "nope"}, b"", "nope", ""),
        (  # the token endpoint's bad credentials, as Routee (and the sandbox) answer them
            {"status": 401, "error": "Unauthorized", "message": "Bad credentials", "path": "/x"},
            b"",
            "Bad credentials",
            "",
        ),
        (None, b"<html>Bad Gateway</html>", "HTTP 502: <html>Bad Gateway</html>", ""),
        (None, b"", "HTTP 502 with an empty body", ""),
        (["not", "an", "object"], b"[]", "HTTP 502: []", ""),
        ({"code": 400000000}, b"{}", "HTTP 502: {}", "400000000"),
    ],
)
def test_read_error_is_lenient(payload: object, raw: bytes, message: str, code: str) -> None:
    error = errors.read_error(502, payload, raw)

    assert (error.message, error.code) == (message, code)


@pytest.mark.parametrize(
    ("status", "expected", "reason"),
    [
        (400, SendRefused, RejectReason.SERVER_ERROR),
        (401, SendRefused, RejectReason.SERVER_ERROR),
        (403, SendRefused, RejectReason.SERVER_ERROR),
        (500, ProviderUnavailable, None),
        (503, ProviderUnavailable, None),
    ],
)
def test_token_failure_table(
    status: int, expected: type[Exception], reason: RejectReason | None
) -> None:
    """Rejected credentials are permanent (statusCode 0); an ailing token endpoint is not."""
    failure = errors.token_failure(errors.RouteeError(status, "", "x"))

    assert type(failure) is expected
    if reason is not None:
        assert isinstance(failure, SendRefused)
        assert failure.reason is reason


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, None), ("", None), ("3", 3.0), (" 0.5 ", 0.5), ("-1", None), ("Wed, 21 Oct", None)],
)
def test_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert errors.retry_after_seconds(header) == seconds
