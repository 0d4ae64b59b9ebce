"""A flow as Routee's standard Failover tracking shows it (reference §3.3, the search seed).

Pure rendering: flow state and stored request in, JSON-ready dict out. Both APIs' flows render
here (``originatingService`` tells them apart), so ``GET /failover/tracking/{id}`` and the search
show OTP flows too.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from failover_otp.domain.flow import Flow, FlowKind, Step, StepPlan
from failover_otp.domain.records import FlowMeta, FlowRecord
from failover_otp.domain.statuses import Channel, FlowStatus, StepStatus
from failover_otp.phones import describe
from failover_otp.providers.sms_parts import sms_parts
from failover_otp.services.story import iso, latency_ms

ORIGINATING_SERVICE = {FlowKind.STANDARD: "Failover", FlowKind.OTP: "FailoverOtp"}

# What ``failoverOnStatuses`` may name, per channel, in the order they are listed: the channel's
# final failure statuses. Routee documents FAILED/UNDELIVERED (Sms), EXPIRED/FAILED/UNDELIVERED
# (Viber) and Busy/NoAnswer (Voice) as the defaults; Unsent (insufficient balance) and Voice's
# Failed/Terminated are the other failure endings a step can have.
FAILOVER_STATUSES: dict[Channel, tuple[StepStatus, ...]] = {
    Channel.SMS: (StepStatus.FAILED, StepStatus.UNDELIVERED, StepStatus.UNSENT),
    Channel.VIBER: (
        StepStatus.EXPIRED,
        StepStatus.FAILED,
        StepStatus.UNDELIVERED,
        StepStatus.UNSENT,
    ),
    Channel.VOICE: (
        StepStatus.BUSY,
        StepStatus.NO_ANSWER,
        StepStatus.FAILED,
        StepStatus.UNSENT,
        StepStatus.TERMINATED,
    ),
}

_DESCRIPTION = {
    StepStatus.SENDING: "The message is being handed to the provider",
    StepStatus.QUEUED: "The message is queued for delivery",
    StepStatus.SENT: "The message was sent to the network; no delivery report yet",
    StepStatus.DELIVERED: "The message was delivered to the handset",
    StepStatus.SEEN: "The message was delivered and read",
    StepStatus.COMPLETED: "The call was answered and completed",
    StepStatus.UNDELIVERED: "The message could not be delivered",
    StepStatus.EXPIRED: "The message was not delivered within its ttl",
    StepStatus.FAILED: "The message could not be processed",
    StepStatus.UNSENT: "The message was not sent: insufficient balance",
    StepStatus.BUSY: "The line was busy",
    StepStatus.NO_ANSWER: "The call was not answered",
    StepStatus.TERMINATED: "The call was terminated",
}

# Voice calls that never connected last zero seconds; a connected call lasts what the provider
# reported (null until it says).
_NEVER_CONNECTED = frozenset(
    {
        StepStatus.BUSY,
        StepStatus.NO_ANSWER,
        StepStatus.FAILED,
        StepStatus.UNSENT,
        StepStatus.TERMINATED,
    }
)


def display_status(flow: Flow) -> str:
    """Flow status as tracking shows it: ``Queued`` while no step has been accepted yet.

    The engine counts such a flow ``InProgress``; Routee's standard service calls it ``Queued``
    (accepted, waiting). It only lasts while the first send's answer is outstanding.
    """
    if flow.status is FlowStatus.IN_PROGRESS and all(
        s.status is StepStatus.SENDING for s in flow.steps
    ):
        return FlowStatus.QUEUED.value
    return flow.status.value


def termination_channel(flow: Flow) -> str | None:
    """The channel of the step that ended the flow; null while it runs."""
    if not flow.status.is_terminal or not flow.steps:
        return None
    return flow.steps[-1].channel.type_name


def country(step: Step) -> str | None:
    """The provider's country, else the number's own (a refused send has no provider answer)."""
    return step.country or describe(step.to)[0]


def e164(digits: str) -> str:
    return digits if digits.startswith("+") else "+" + digits


def ttl_minutes(plan: StepPlan) -> float | int | None:
    """The ttl in minutes within the document's range: Viber 0.5-1440 with one decimal, SMS whole
    minutes 1-1440. Standard steps are asked in those units and show as asked; OTP steps are
    asked in seconds and may be shorter (a 10 s ViberOtp step shows 0.5): the engine still waits
    the ttl that was asked (docs/decisions.md)."""
    if plan.ttl_seconds is None:
        return None
    minutes = plan.ttl_seconds / 60.0
    if plan.channel is Channel.VIBER:
        shown = max(_VIBER_MIN_TTL_MINUTES, round(minutes, 1))
        return int(shown) if shown.is_integer() else shown
    return max(1, math.floor(minutes + 0.5))  # half up: 90 s shows 2, not 1.5


_VIBER_MIN_TTL_MINUTES = 0.5


def ordered_statuses(channel: Channel, statuses: frozenset[StepStatus]) -> list[StepStatus]:
    """``statuses`` in the channel's listing order (stable output for echo and tracking)."""
    known = [s for s in FAILOVER_STATUSES[channel] if s in statuses]
    return known + sorted(s for s in statuses if s not in known)


def failover_statuses(plan: StepPlan) -> list[str]:
    return [s.render(plan.channel) for s in ordered_statuses(plan.channel, plan.failover_on)]


def status_object(step: Step) -> dict[str, Any]:
    # A send whose answer is outstanding is shown as the provider would show it: queued.
    detailed = step.detailed_status or step.status.render(Channel.SMS)
    return {
        "name": step.status.render(step.channel),
        "reason": {
            "detailedStatus": detailed,
            "description": step.error_message or _DESCRIPTION[step.status],
        },
        "updatedDate": iso(step.updated_at),
    }


def sms_part_id(message_id: str, part: int) -> str:
    """A stable id per SMS part: the engine tracks a message, the tracking lists its parts."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{message_id}:part:{part}"))


def _content(meta: FlowMeta, index: int) -> dict[str, Any]:
    return meta.request[index] if index < len(meta.request) else {}


def _common(step: Step, plan: StepPlan, content: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": step.channel.type_name,
        "order": content.get("order", step.index + 1),
        "failoverOnStatuses": failover_statuses(plan),
        "createdAt": iso(step.created_at),
    }


def _sms_messages(
    step: Step, plan: StepPlan, content: dict[str, Any], label: str | None, scale: float
) -> list[dict[str, Any]]:
    message = content.get("message")
    body = str(message.get("body") or "") if isinstance(message, dict) else ""
    parts = step.parts if step.sent_at is not None else sms_parts(body)
    parts = max(1, parts)
    price = round(step.price / parts, 6) if step.price is not None else None
    latency = latency_ms(step, scale)
    common = _common(step, plan, content)
    return [
        {
            **common,
            "messageId": step.tracking_id,
            "smsId": sms_part_id(step.tracking_id, part),
            "from": content.get("from"),
            "to": e164(step.to),
            "body": body,
            "country": country(step),
            "operator": step.operator,
            "status": status_object(step),
            "part": part,
            "parts": parts,
            "latency": latency,
            "price": price,
            "label": label,
            "ttl": ttl_minutes(plan),
        }
        for part in range(1, parts + 1)
    ]


def _viber_message(
    step: Step, plan: StepPlan, content: dict[str, Any], label: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "text": content.get("text"),
        "imageUrl": content.get("imageUrl"),
        "action": content.get("action"),
    }
    for key in ("viberFile", "viberVideo"):
        if content.get(key) is not None:
            body[key] = content[key]
    message = {
        **_common(step, plan, content),
        "trackingId": step.tracking_id,
        "from": content.get("senderInfoTrackingId"),
        "to": e164(step.to),
        "country": country(step),
        "body": body,
        "status": status_object(step),
        "expireOnDelivery": plan.expire_on_delivery,
        "price": step.price,
        "label": label,
        "inboundUrl": content.get("inboundUrl"),
        "ttl": ttl_minutes(plan),
    }
    # The document: "present only when expireOnDelivery was true and the message expired".
    if step.expired_on_delivery_at is not None:
        message["expiredOnDeliveryAt"] = iso(step.expired_on_delivery_at)
    return message


def _voice_message(step: Step, plan: StepPlan, content: dict[str, Any]) -> dict[str, Any]:
    duration = step.call_seconds
    if duration is None and step.status in _NEVER_CONNECTED:
        duration = 0
    return {
        **_common(step, plan, content),
        "messageId": step.tracking_id,
        "from": content.get("from"),
        "to": e164(step.to),
        "country": country(step),
        "status": status_object(step),
        "duration": duration,
        "price": step.price,
        "answeredBy": step.answered_by,
    }


def messages(flow: Flow, meta: FlowMeta, time_scale: float) -> list[dict[str, Any]]:
    """One entry per step attempted (one per part for a multipart SMS), in flow order."""
    rendered: list[dict[str, Any]] = []
    for step in flow.steps:
        plan = flow.plans[step.index]
        content = _content(meta, step.index)
        label = meta.step_label(step.index)
        if step.channel is Channel.SMS:
            rendered.extend(_sms_messages(step, plan, content, label, time_scale))
        elif step.channel is Channel.VIBER:
            rendered.append(_viber_message(step, plan, content, label))
        else:
            rendered.append(_voice_message(step, plan, content))
    return rendered


def tracking(flow: Flow, meta: FlowMeta, time_scale: float) -> dict[str, Any]:
    """The §3.3 tracking object of ``flow``."""
    return {
        "trackingId": flow.id,
        "messages": messages(flow, meta, time_scale),
        "terminationChannel": termination_channel(flow),
        "status": display_status(flow),
        "statusCode": int(flow.status_code) if flow.status_code is not None else None,
        "totalPrice": flow.total_cost,
        "originatingService": ORIGINATING_SERVICE[flow.kind],
        "applicationId": flow.application_id,
        "createdAt": iso(flow.created_at),
        "updatedAt": iso(flow.updated_at),
    }


def webhook_payload(record: FlowRecord, time_scale: float) -> dict[str, Any] | None:
    """What a standard flow's callback receives now, or None when its strategy says to wait.

    ``OnChange``: every change; ``OnCompletion``: only once the flow has ended and no step
    awaits its verdict (a flow Succeeded on an SMS ``Sent`` may still turn Failed when the SMS
    ends Undelivered, so its completion is the SMS's final report). The body is the tracking
    object (reference §3.6: callback and tracking share the shape).
    """
    strategy = record.meta.callback_strategy
    flow = record.flow
    completed = flow.status.is_terminal and not any(s.status.awaits_verdict for s in flow.steps)
    if strategy == "OnCompletion" and not completed:
        return None
    return tracking(record.flow, record.meta, time_scale)
