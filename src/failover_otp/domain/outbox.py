"""Customer-webhook events as the outbox holds them (a transactional outbox: see
docs/webhooks.md): what a change of a flow adds, and a stored row as a worker claims it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"


def target_host(url: str) -> str:
    """The receiving ``host:port`` of a webhook URL, the key of the per-host bound."""
    try:
        parts = urlsplit(url)
        port = parts.port or (80 if parts.scheme.lower() == "http" else 443)
    except ValueError:
        return url[:255]
    return f"{(parts.hostname or '').rstrip('.')}:{port}"[:255]


@dataclass(frozen=True, slots=True)
class NewWebhookEvent:
    """A webhook to send: one visible change of one flow."""

    event_id: str
    flow_id: str
    application_id: str
    url: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A stored outbox event."""

    seq: int
    event_id: str
    flow_id: str
    application_id: str
    url: str
    body: str
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None = None
    last_error: str | None = None
    target_host: str | None = None

    @property
    def host(self) -> str:
        return self.target_host or target_host(self.url)
