"""Request bodies the tests send, built like a customer would."""

from __future__ import annotations

from typing import Any

TEMPLATE_ID = "0aac888f-2ee2-4112-9659-1755a951966a"


def number(digit: int, prefix: str = "30691234567") -> str:
    """A valid Greek mobile number ending in ``digit`` (the sandbox's outcome key)."""
    return f"+{prefix}{digit}"


def viber_sms_flow(
    digit: int,
    *,
    viber_ttl: int = 120,
    sms_ttl: int = 300,
    failover_on_delivered: bool = False,
    label: str = "login",
    prefix: str = "30691234567",
    callback_url: str | None = None,
) -> dict[str, Any]:
    to = number(digit, prefix)
    body: dict[str, Any] = {
        "flow": [
            {
                "type": "ViberOtp",
                "to": to,
                "order": 1,
                "ttl": viber_ttl,
                "senderInfoTrackingId": "sender-1",
                "templateId": TEMPLATE_ID,
                "pin": "482913",
                "label": label,
                "failoverOnDelivered": failover_on_delivered,
            },
            {
                "type": "Sms",
                "to": to.lstrip("+"),
                "order": 2,
                "ttl": sms_ttl,
                "from": "MyBrand",
                "message": {"body": "Your code is 482913"},
                "label": label,
            },
        ]
    }
    if callback_url:
        body["callback"] = {"url": callback_url}
    return body


def routee_sms_report(message_id: str, status: str) -> dict[str, Any]:
    """The body Routee POSTs to a callback URL for an SMS's new status (one part)."""
    return {
        "messageId": message_id,
        "smsId": message_id,
        "part": 1,
        "parts": 1,
        "status": {"name": status, "reason": {"detailedStatus": status}},
    }
