"""A flow's delivery story as the API (and the customer's webhook) shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from failover_otp.domain.flow import Flow, Step
from failover_otp.domain.records import FlowMeta
from failover_otp.domain.statuses import Channel


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC with a ``Z``, millisecond precision (``2026-02-16T12:00:00.000Z``)."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def latency_ms(step: Step, time_scale: float) -> int | None:
    """Send-to-delivery time in the flow's own time: a time-scaled run reports real-world ms."""
    if step.sent_at is None or step.delivered_at is None:
        return None
    return max(0, round((step.delivered_at - step.sent_at).total_seconds() * 1000 * time_scale))


def otp_status(step: Step) -> str:
    """A step's status as the OTP tracking seed's example words it: Viber upper-case
    (``EXPIRED``), SMS lower-case (``queued``, ``delivered``, ``undelivered``). Voice, which the
    seed never shows, keeps Routee's own wording (``NoAnswer``). A send in flight is queued."""
    rendered = step.status.render(step.channel)
    return rendered.lower() if step.channel is Channel.SMS else rendered


def step_story(step: Step, label: str | None, flow_id: str, time_scale: float) -> dict[str, Any]:
    story: dict[str, Any] = {
        "trackingId": step.tracking_id,
        "role": step.role.value,
        "status": otp_status(step),
        "channel": step.channel.value,
        "phone_number": step.to,
        "created_at": iso(step.created_at),
    }
    optional = {
        "detailed_status": step.detailed_status,
        "price": step.price,
        "latency_ms": latency_ms(step, time_scale),
        "country": step.country,
        "operator": step.operator,
        "sent_at": iso(step.sent_at),
        "delivered_at": iso(step.delivered_at),
        "error_message": step.error_message,
        "failover_from_message_token": step.failover_from,
        "label": label,
    }
    story.update({k: v for k, v in optional.items() if v is not None})
    if step.ttl_choice is not None:  # only a step that asked for "ttl": "auto" has one
        story["auto_ttl"] = {"seconds": step.ttl_choice.seconds, "reason": step.ttl_choice.reason}
    story["flowId"] = flow_id
    return story


def flow_story(flow: Flow, meta: FlowMeta, time_scale: float) -> dict[str, Any]:
    """The seed's ``GET /otp/failover/{id}`` shape."""
    return {
        "flowId": flow.id,
        "status": flow.status.value,
        "statusCode": int(flow.status_code) if flow.status_code is not None else None,
        "total_cost": flow.total_cost,
        "steps": [step_story(s, meta.step_label(s.index), flow.id, time_scale) for s in flow.steps],
    }
