"""Customer webhooks: what a flow's ``callback.url`` receives when the flow's story changes.

Each visible change (the core's ``NotifyChange``) becomes one outbox event, saved in the same
transaction as the flow (``FlowStore.save(webhooks=...)``); ``worker/webhooks.py`` delivers it,
signed, and retries until the receiver answers 2xx. The body is rendered here, once, when the
change happens, so every attempt of one event sends the same bytes under the same id.

- OTP flows (``POST /otp/send-failover``): the seed's ``GET /otp/failover/{id}`` story.
- Standard flows (``POST /failover``): the tracking object, on every change (``OnChange``) or only
  once the flow has ended (``OnCompletion``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson

from failover_otp.domain.flow import FlowKind
from failover_otp.domain.outbox import NewWebhookEvent
from failover_otp.domain.records import FlowRecord
from failover_otp.services.story import flow_story
from failover_otp.services.tracking import webhook_payload

# Event ids are derived from (flow id, saved version): one per saved change, stable on retries.
_EVENT_NAMESPACE = uuid.UUID("5b0f4d9e-2f61-4d43-9a55-2f3c1a7e6b10")


def event_id(flow_id: str, version: int) -> str:
    """The ``webhook-id`` of the change that saved ``flow_id`` at ``version``."""
    return "msg_" + uuid.uuid5(_EVENT_NAMESPACE, f"{flow_id}:{version}").hex


def webhook_body(record: FlowRecord, time_scale: float) -> dict[str, Any] | None:
    """What the flow's callback receives now (None: nothing to send for this change)."""
    if record.flow.kind is FlowKind.STANDARD:
        return webhook_payload(record, time_scale)
    return flow_story(record.flow, record.meta, time_scale)


class WebhookEvents:
    """Turns a flow's visible change into the outbox event to save with it."""

    def __init__(self, *, time_scale: float) -> None:
        self.time_scale = time_scale

    def for_change(
        self, record: FlowRecord, *, version: int, now: datetime
    ) -> list[NewWebhookEvent]:
        url = record.meta.callback_url
        if not url:
            return []
        body = webhook_body(record, self.time_scale)
        if body is None:
            return []
        return [
            NewWebhookEvent(
                event_id=event_id(record.flow.id, version),
                flow_id=record.flow.id,
                application_id=record.flow.application_id,
                url=url,
                body=orjson.dumps(body).decode(),
                created_at=now,
            )
        ]
