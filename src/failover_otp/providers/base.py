"""The provider contract the service layer relies on, and the errors it may raise.

Error tree::

    ProviderError
     ├── SendRefused           permanent: the provider answered and no message exists
     ├── ProviderUnavailable   transient: the provider did not take the message (retry is safe)
     └── SendOutcomeUnknown    the request may have reached the provider: look it up first
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from failover_otp.domain.statuses import Channel, RejectReason, StepStatus


@dataclass(frozen=True, slots=True)
class SendRequest:
    flow_id: str
    step_index: int
    channel: Channel
    to: str  # E.164 digits, no leading "+"
    ttl_seconds: float | None
    # Channel payload as the API received it (pin, template, sender, body, dial plan...).
    content: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None


@dataclass(frozen=True, slots=True)
class SendReceipt:
    message_id: str
    status: StepStatus = StepStatus.QUEUED
    price: float | None = None
    parts: int = 1
    country: str | None = None
    operator: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    message_id: str
    status: StepStatus
    detailed_status: str | None = None
    price: float | None = None
    at: datetime | None = None
    # Voice: who answered (human, machine) and the call's length in seconds, when reported.
    answered_by: str | None = None
    call_seconds: int | None = None


ReportSink = Callable[[DeliveryReport], Awaitable[None]]


class ProviderError(Exception):
    """Base of every provider failure."""


class SendRefused(ProviderError):
    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ProviderUnavailable(ProviderError):
    """The provider could not take the message now (5xx, connection refused, 429).

    ``retry_after``: how long the provider asked us to wait before the next try (its
    ``Retry-After``), or None to leave the wait to the backoff."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SendOutcomeUnknown(ProviderError):
    """The request left, but no answer came back: the message may or may not exist."""


class Provider(Protocol):
    async def start(self, sink: ReportSink) -> None:
        """Begin delivering reports that arrive without a request (push) to ``sink``."""

    async def send(self, request: SendRequest) -> SendReceipt: ...

    async def lookup(self, channel: Channel, message_id: str) -> DeliveryReport | None:
        """The message's current status, or None when the provider does not know it."""

    async def find_sent(self, request: SendRequest) -> SendReceipt | None:
        """A message already accepted for this exact request, if the provider can tell.

        Used before re-sending after an ambiguous failure, so a retry never doubles a message.
        """

    async def aclose(self) -> None: ...
