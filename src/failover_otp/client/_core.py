"""What the sync and async clients share: the retry policy, the token cache, requests."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from failover_otp.client.errors import ApiClientError, ApiConnectionError

__all__ = ["ApiClientError", "ApiConnectionError", "RetryPolicy", "viber_sms_payload"]

DEFAULT_TIMEOUT = 30.0
USER_AGENT = "failover-otp-client"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to try a request again.

    Retried: GETs (and the read-only tracking search), and POSTs that carry an
    ``Idempotency-Key`` (the server answers a repeat with the first response, never sending
    twice) — on connection errors, timeouts and the ``statuses`` below. Any request is retried
    when the connection could not even be opened: nothing reached the server. Waits grow
    exponentially with jitter, and honour ``Retry-After`` up to ``max_wait``.
    """

    attempts: int = 4
    backoff: float = 0.25
    max_wait: float = 8.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 502, 503, 504}))

    def wait(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before try ``attempt + 1`` (None: give up)."""
        if attempt >= self.attempts:
            return None
        delay = self.backoff * (2.0 ** (attempt - 1)) * random.uniform(0.8, 1.2)
        if response is not None:
            after = response.headers.get("Retry-After", "")
            if after.isdigit():
                if float(after) > self.max_wait:
                    return None  # a long limit (e.g. a daily cap): better told than waited
                delay = max(delay, float(after))
        return min(delay, self.max_wait)


NO_RETRY = RetryPolicy(attempts=1)


@dataclass(slots=True)
class TokenCache:
    """An access token kept until shortly before it expires (10% of its life, ≤ 60 s, early)."""

    token: str | None = None
    refresh_at: float = 0.0

    def valid(self) -> str | None:
        return self.token if self.token is not None and time.monotonic() < self.refresh_at else None

    def store(self, body: Any) -> str:
        token = str(body["access_token"])
        lifetime = float(body.get("expires_in") or 3600)
        self.token = token
        self.refresh_at = time.monotonic() + lifetime - min(60.0, lifetime * 0.1)
        return token

    def clear(self) -> None:
        self.token = None
        self.refresh_at = 0.0


def decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"message": response.text or response.reason_phrase}


def token_request() -> dict[str, Any]:
    return {"data": {"grant_type": "client_credentials"}}


def retryable(method: str, headers: Mapping[str, str], *, safe: bool) -> bool:
    """Whether an answered-or-lost request may be sent again without side effects."""
    return safe or method.upper() in ("GET", "HEAD", "OPTIONS") or "Idempotency-Key" in headers


def never_sent(error: httpx.TransportError) -> bool:
    """The request surely did not reach the server (the connection never opened)."""
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def clean_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None and v != ""}


def viber_sms_payload(
    phone: str,
    *,
    pin: str | None = None,
    sender: str = "FailoverOTP",
    viber_ttl: int = 120,
    sms_ttl: int = 300,
    template_id: str = "0aac888f-2ee2-4112-9659-1755a951966a",
    sender_info: str = "demo-sender",
    label: str | None = None,
    failover_on_delivered: bool = False,
    message: str | None = None,
) -> dict[str, Any]:
    """The usual OTP flow: Viber first, the same code by SMS when Viber does not deliver.

    Without a ``pin`` the service generates the code (check it with ``verify_code``); the SMS
    body then carries the ``{pin}`` placeholder the service fills in. (Before 0.2 the default
    was the fixed code ``123456``.)
    """
    viber: dict[str, Any] = {
        "type": "ViberOtp",
        "to": phone,
        "order": 1,
        "ttl": viber_ttl,
        "senderInfoTrackingId": sender_info,
        "templateId": template_id,
        "failoverOnDelivered": failover_on_delivered,
    }
    sms: dict[str, Any] = {
        "type": "Sms",
        "to": phone,
        "order": 2,
        "ttl": sms_ttl,
        "from": sender,
        "message": {"body": message or ("Your code is " + (pin or "{pin}"))},
    }
    if pin is not None:
        viber["pin"] = pin
    if label is not None:
        viber["label"] = label
        sms["label"] = label
    return {"flow": [viber, sms]}
