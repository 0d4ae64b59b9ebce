"""Routee's own JSON objects, rendered from plain values. Pure.

The standalone sandbox (``providers/sandbox/wire_server.py``) answers with these, so what our
client parses (``wire``) and what our sandbox emits are written next to each other, from the same
reference sections. Field sets follow the reference (§1.2 token, §4.1/§4.3/§4.4 SMS, §2.9/§5.4
Viber, §6 errors); values not modelled by the sandbox are fixed placeholders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.providers.routee.validation import SCOPES, SendSpec
from failover_otp.providers.sms_parts import is_unicode

APPLICATION_NAME = "failover-otp-sandbox"
PERMISSIONS = {"account": "MT_ROLE_ACCOUNT_FINANCE", "sms": "MT_ROLE_SMS", "viber": "MT_ROLE_VIBER"}
CURRENCY = {"code": "EUR", "name": "Euro", "sign": "\u20ac"}


def iso(moment: datetime) -> str:
    """Millisecond ISO-8601 in UTC with a ``Z``, as Routee's examples write it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True, slots=True)
class MessageView:
    """One message as Routee would describe it at one moment: what was sent, what Routee
    assigned to it, and where it is now."""

    spec: SendSpec
    message_id: str
    parts: int
    price: float  # the whole message (all parts)
    country: str | None
    operator: str | None
    created_at: datetime
    status: StepStatus
    detailed: str | None
    status_at: datetime
    sms_ids: Sequence[str] = ()

    @property
    def channel(self) -> Channel:
        return self.spec.channel

    @property
    def number(self) -> str:
        return "+" + self.spec.to

    @property
    def part_price(self) -> float:
        return round(self.price / max(1, self.parts), 6)

    def status_name(self) -> str:
        return self.status.render(self.channel)

    def reason(self) -> dict[str, Any]:
        detailed = self.detailed or self.status.render(Channel.SMS)
        return {"detailedStatus": detailed, "description": f"The message is {detailed.lower()}"}


def token_answer(
    access_token: str, expires_in: int, scopes: frozenset[str] = frozenset(SCOPES)
) -> dict[str, Any]:
    granted = [scope for scope in SCOPES if scope in scopes]
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": " ".join(granted),
        "permissions": [PERMISSIONS[scope] for scope in granted],
    }


def error(code: str, message: str) -> dict[str, Any]:
    """Routee's error body (reference §6.1)."""
    return {"code": code, "developerMessage": message}


def framework_error(
    status: int, error: str, message: str, path: str, now: datetime
) -> dict[str, Any]:
    """The error body of Routee's Spring stack in front of its resources: what a recorded run
    against Routee shows for bad credentials on ``/oauth/token``."""
    return {
        "timestamp": iso(now),
        "status": status,
        "error": error,
        "message": message,
        "path": path,
    }


def oauth_error(error: str, description: str) -> dict[str, Any]:
    """An OAuth2 error (RFC 6749 §5.2): an unknown grant type or scope."""
    return {"error": error, "error_description": description}


def balance(amount: float) -> dict[str, Any]:
    """``GET /accounts/me/balance`` (reference §7.4)."""
    return {"balance": round(amount, 4), "currency": dict(CURRENCY)}


def transaction(
    transaction_id: str, amount: float, before: float, after: float, at: datetime
) -> dict[str, Any]:
    """One item of ``GET /accounts/me/transactions``: Routee lists top-ups only."""
    return {
        "id": transaction_id,
        "source": APPLICATION_NAME,
        "transactionType": "TopUp",
        "amount": round(amount, 4),
        "status": "Completed",
        "balanceBefore": round(before, 4),
        "balanceAfter": round(after, 4),
        "date": iso(at),
        "actions": [],
    }


def sms_send_answer(view: MessageView) -> dict[str, Any]:
    """§4.1: the answer to ``POST /sms``."""
    answer: dict[str, Any] = {
        "trackingId": view.message_id,
        "createdAt": iso(view.created_at),
        "from": view.spec.sender,
        "to": view.number,
        "body": view.spec.text,
        "status": "Queued",
        "flash": False,
        "bodyAnalysis": {
            "characters": len(view.spec.text),
            "parts": view.parts,
            "unicode": is_unicode(view.spec.text),
            "unsupportedGSMCharacters": [],
        },
        "ttl": view.spec.ttl,
    }
    if view.spec.label is not None:
        answer["label"] = view.spec.label
    if view.spec.callback:
        answer["callback"] = dict(view.spec.callback)
    return answer


def send_answer(view: MessageView) -> dict[str, Any]:
    """The answer to a send on ``view``'s channel."""
    return sms_send_answer(view) if view.channel is Channel.SMS else viber_send_answer(view)


def viber_send_answer(view: MessageView) -> dict[str, Any]:
    """§2.9 (``POST /viber/otp``) and, best effort, ``POST /viber``."""
    answer: dict[str, Any] = {
        "trackingId": view.message_id,
        "to": view.number,
        "from": view.spec.sender,
        "country": view.country,
        "status": {"status": "QUEUED", "date": iso(view.created_at)},
        "applicationName": APPLICATION_NAME,
        "direction": "Outbound",
        "ttl": view.spec.ttl,
        "label": view.spec.label,
    }
    answer.update(view.spec.template or {})
    if view.spec.viber_body is not None:
        answer["body"] = dict(view.spec.viber_body)
    return answer


def sms_tracking(view: MessageView) -> list[dict[str, Any]]:
    """§4.3: ``GET /sms/tracking/single/{messageId}``, one object per part."""
    return [
        {
            "applicationName": APPLICATION_NAME,
            "country": view.country,
            "smsId": sms_id,
            "messageId": view.message_id,
            "groups": [],
            "body": view.spec.text,
            "operator": view.operator,
            "originatingService": "Sms",
            "to": view.number,
            "latency": 0,
            "parts": view.parts,
            "part": number,
            "price": view.part_price,
            "label": view.spec.label,
            "status": {
                "date": iso(view.status_at),
                "status": view.status_name(),
                "reason": view.reason(),
            },
            "from": view.spec.sender,
            "direction": "Outbound",
        }
        for number, sms_id in enumerate(view.sms_ids, start=1)
    ]


def viber_tracking(view: MessageView) -> dict[str, Any]:
    """§5.4: ``GET /viber/tracking/{trackingId}``."""
    body = view.spec.viber_body or {}
    return {
        "trackingId": view.message_id,
        "to": view.number,
        "from": view.spec.sender,
        "country": view.country,
        "status": {
            "status": view.status_name(),
            "reason": view.reason(),
            "date": iso(view.status_at),
        },
        "applicationName": APPLICATION_NAME,
        "originatingService": "Viber",
        "direction": "Outbound",
        "ttl": view.spec.ttl,
        "message": body.get("text"),
        "price": view.price,
        "imageURL": body.get("imageURL"),
        "viberAction": body.get("viberAction"),
        "expireOnDelivery": False,
        **(view.spec.template or {}),
    }


def callbacks(view: MessageView) -> list[dict[str, Any]]:
    """The callback bodies Routee POSTs for ``view``'s current status."""
    return sms_callbacks(view) if view.channel is Channel.SMS else [viber_callback(view)]


def sms_callbacks(view: MessageView) -> list[dict[str, Any]]:
    """§4.4: one callback body per part."""
    return [
        {
            "messageId": view.message_id,
            "smsId": sms_id,
            "part": number,
            "parts": view.parts,
            "label": view.spec.label,
            "to": view.number,
            "from": view.spec.sender,
            "country": view.country,
            "operator": view.operator,
            "groups": [],
            "status": {
                "name": view.status_name(),
                "reason": view.reason(),
                "updatedDate": iso(view.status_at),
            },
            "message": view.spec.text,
            "applicationName": APPLICATION_NAME,
            "latency": 0,
            "price": view.part_price,
            "direction": "Outbound",
            "originatingService": "Sms",
        }
        for number, sms_id in enumerate(view.sms_ids, start=1)
    ]


def viber_callback(view: MessageView) -> dict[str, Any]:
    """§5.4: the Viber callback body."""
    return {
        "trackingId": view.message_id,
        "to": view.number,
        "from": view.spec.sender,
        "groups": [],
        "country": view.country,
        "status": {
            "name": view.status_name(),
            "reason": view.reason(),
            "updatedDate": iso(view.status_at),
        },
        "body": dict(view.spec.viber_body or {}),
        "ttl": view.spec.ttl,
        "label": view.spec.label,
        "applicationName": APPLICATION_NAME,
        "price": view.price,
        "direction": "Outbound",
        "originatingService": "Viber",
        "createdAt": iso(view.created_at),
    }


def page(items: Sequence[Any], number: int, size: int) -> dict[str, Any]:
    """A Spring Data page over ``items`` (§3.4)."""
    chunk = list(items[number * size : (number + 1) * size])
    total_pages = -(-len(items) // size) if size else 0
    return {
        "content": chunk,
        "totalPages": total_pages,
        "totalElements": len(items),
        "number": number,
        "size": size,
        "numberOfElements": len(chunk),
        "first": number == 0,
        "last": number >= total_pages - 1,
    }
