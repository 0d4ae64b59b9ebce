"""The JSON bodies we POST to Routee, built from a :class:`SendRequest`. Pure.

``SendRequest.content`` holds the step as our API received it (the Failover OTP and Failover
request fields). This module translates those names into each Routee endpoint's own:

* ViberOtp step → ``POST /viber/otp`` (reference §2.9): ``pin`` and the template fields go into
  ``templateParams`` with the template inventory's names (``businessName`` →
  ``businessPlatformName``...). A missing ``templateId`` is derived from ``templateType``
  (§2.8 mapping, an inference), else the basic OTP template.
  For a template of the inventory only that template's parameters are sent (Viber refuses
  others); an unknown template gets every field.
* Standard Viber step → ``POST /viber``: Routee's single-Viber request body is not in our
  reference; we send the field names its tracking and callback objects use (§5.4), best effort.
* The two wire facts public material disagrees on (``to`` of ``/viber/otp``, the button's field)
  are chosen in ``wire_choices``.
* Sms step → ``POST /sms`` (§4.1). Routee's SMS ``ttl`` is in minutes (1-4320); ours is in
  seconds, so it is rounded *up* (a 90 s OTP stays valid for 2 minutes, never 1) and clamped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from failover_otp.domain.statuses import Channel
from failover_otp.providers.base import SendRequest
from failover_otp.providers.routee.wire_choices import DOCUMENTED, WireChoices

BASIC_TEMPLATE_ID = "0aac888f-2ee2-4112-9659-1755a951966a"

# Failover OTP ``templateType`` → Viber OTP template (reference §2.8, an inference).
TEMPLATE_BY_TYPE = {
    "basic": BASIC_TEMPLATE_ID,
    "basic_5min": "c2cdc028-a48b-4187-bbaf-3aaa137b6e23",
    "with_business_name": "c33cccaf-735f-4d62-8383-a76bf4999e2d",
    "with_validity": "bed0942f-e07e-4879-834b-29cc4cf3ec35",
    "with_type_and_validity": "60d67b38-b9fb-444a-80e6-754447e010c6",
    "with_business_and_validity_hours": "6c929cef-29b4-4349-bc9d-2a07bdbb6e43",
    "with_type": "82ba31a3-db42-4e87-82e8-33fa92b9e5ed",
    "with_action": "210ee8a9-1ed5-43cd-96e4-65bba311ab40",
    "with_reason": "be56d97b-2a33-4c89-ac5f-f555a2c827d9",
}

_PIN = frozenset({"pin"})
# The parameters each template of the inventory takes (reference §2.8).
TEMPLATE_PARAMS: dict[str, frozenset[str]] = {
    BASIC_TEMPLATE_ID: _PIN,
    "c2cdc028-a48b-4187-bbaf-3aaa137b6e23": _PIN,
    "c33cccaf-735f-4d62-8383-a76bf4999e2d": _PIN | {"businessPlatformName"},
    "bed0942f-e07e-4879-834b-29cc4cf3ec35": _PIN | {"codeValidityTime"},
    "60d67b38-b9fb-444a-80e6-754447e010c6": _PIN | {"pinType", "codeValidityTime"},
    "6c929cef-29b4-4349-bc9d-2a07bdbb6e43": _PIN | {"businessPlatformName", "codeValidityTime"},
    "82ba31a3-db42-4e87-82e8-33fa92b9e5ed": _PIN | {"pinType"},
    "210ee8a9-1ed5-43cd-96e4-65bba311ab40": _PIN | {"businessPlatformActionName"},
    "be56d97b-2a33-4c89-ac5f-f555a2c827d9": _PIN | {"businessPlatformName", "codeReason"},
}

# Step field → Viber OTP ``templateParams`` key. The OTP API's own names for the validity, type,
# action and reason fields are unknown (reference §8.1), so the likely spellings are accepted.
TEMPLATE_PARAM_ALIASES = {
    "pin": "pin",
    "businessName": "businessPlatformName",
    "businessPlatformName": "businessPlatformName",
    "codeValidityTime": "codeValidityTime",
    "validityTime": "codeValidityTime",
    "validity": "codeValidityTime",
    "pinType": "pinType",
    "codeType": "pinType",
    "businessPlatformActionName": "businessPlatformActionName",
    "actionName": "businessPlatformActionName",
    "codeReason": "codeReason",
    "reason": "codeReason",
}

# Step fields that are not template parameters.
_STEP_FIELDS = frozenset(
    {
        "type",
        "to",
        "order",
        "ttl",
        "label",
        "senderInfoTrackingId",
        "templateId",
        "templateLang",
        "templateType",
        "templateParams",
        "failoverOnDelivered",
        "failoverOnStatuses",
        "deliveryScope",
        "trackingId",
    }
)

SMS_TTL_MINUTES = (1, 4320)
VIBER_TTL_SECONDS = (30, 86400)
CALLBACK_STRATEGY = "OnChange"


def e164(to: str) -> str:
    """Routee's SMS and Viber APIs want ``+`` and digits."""
    return "+" + to.lstrip("+")


def is_viber_otp(content: Mapping[str, Any]) -> bool:
    """A Viber step is an OTP template send when it names a template or carries a pin."""
    return any(key in content for key in ("templateId", "templateType", "pin", "templateParams"))


def message_text(request: SendRequest) -> str:
    """The text a step carries (SMS body, Viber text, or the OTP pin)."""
    content = request.content
    if request.channel is Channel.SMS:
        message = content.get("message")
        body = message.get("body") if isinstance(message, Mapping) else None
        return str(body if body is not None else content.get("body") or "")
    if request.channel is Channel.VIBER:
        if is_viber_otp(content):
            return str(template_params(content).get("pin") or "")
        return str(content.get("text") or "")
    return ""


def sms_ttl_minutes(ttl_seconds: float) -> int:
    low, high = SMS_TTL_MINUTES
    return min(high, max(low, math.ceil(ttl_seconds / 60)))


def callback_url(public_url: str, token: str) -> str | None:
    """Where Routee must POST delivery reports, or None when the service has no public URL."""
    if not public_url or not token:
        return None
    return f"{public_url.rstrip('/')}/callbacks/routee/{token}"


def template_params(content: Mapping[str, Any], template_id: str | None = None) -> dict[str, Any]:
    """``templateParams`` for a ViberOtp step: its pin, its template fields under the
    inventory's names, and any field our API does not know, passed through untouched; only
    the parameters ``template_id`` takes when it is a template of the inventory."""
    params: dict[str, Any] = {}
    given = content.get("templateParams")
    if isinstance(given, Mapping):
        params.update({str(k): v for k, v in given.items()})
    for field, value in content.items():
        if field in _STEP_FIELDS or value is None:
            continue
        params.setdefault(TEMPLATE_PARAM_ALIASES.get(field, field), value)
    validity = params.get("codeValidityTime")
    if isinstance(validity, str) and validity.strip().isdigit():
        params["codeValidityTime"] = int(validity.strip())  # a JSON number (reference §2.8)
    wanted = TEMPLATE_PARAMS.get(template_id or "")
    return {k: v for k, v in params.items() if k in wanted} if wanted else params


def sms_body(request: SendRequest, callback: str | None) -> dict[str, Any]:
    content = request.content
    message = content.get("message")
    options = message if isinstance(message, Mapping) else {}
    body: dict[str, Any] = {"body": message_text(request), "to": e164(request.to)}
    sender = content.get("from")
    if sender is not None:
        body["from"] = str(sender)
    for key in ("flash", "transcode"):
        if key in options:
            body[key] = options[key]
    if request.ttl_seconds is not None:
        body["ttl"] = sms_ttl_minutes(request.ttl_seconds)
    if request.label:
        body["label"] = request.label
    if callback:
        body["callback"] = {"url": callback, "strategy": CALLBACK_STRATEGY}
    return body


def viber_otp_body(
    request: SendRequest, callback: str | None, choices: WireChoices = DOCUMENTED
) -> dict[str, Any]:
    content = request.content
    template_id = str(
        content.get("templateId")
        or TEMPLATE_BY_TYPE.get(str(content.get("templateType") or "basic"), BASIC_TEMPLATE_ID)
    )
    body: dict[str, Any] = {
        "senderInfoTrackingId": content.get("senderInfoTrackingId"),
        "to": choices.viber_otp_recipient(e164(request.to)),
        "templateId": template_id,
        "templateLang": content.get("templateLang") or "en",
        "templateParams": template_params(content, template_id),
        # The Viber OTP ``label`` is a billing class, not free text: an OTP is transactional.
        "label": "transactional",
    }
    if request.ttl_seconds is not None:
        body["ttl"] = math.ceil(request.ttl_seconds)
    scope = content.get("deliveryScope")
    if scope in ("PRIMARY_ONLY", "ALL_DEVICE"):
        body["type"] = scope
    if callback:
        body["callback"] = {"url": callback, "strategy": CALLBACK_STRATEGY}
    return body


def viber_body(
    request: SendRequest, callback: str | None, choices: WireChoices = DOCUMENTED
) -> dict[str, Any]:
    content = request.content
    message: dict[str, Any] = {}
    if content.get("text") is not None:
        message["text"] = str(content["text"])
    image = content.get("imageUrl") or content.get("imageURL")
    if image:
        message["imageURL"] = image
    action = content.get("action") or content.get("viberAction")
    if isinstance(action, Mapping):
        key, button = choices.viber_button_entry(action)
        message[key] = button
    body: dict[str, Any] = {
        "senderInfoTrackingId": content.get("senderInfoTrackingId"),
        "to": e164(request.to),
        "body": message,
    }
    if request.ttl_seconds is not None:
        low, high = VIBER_TTL_SECONDS
        body["ttl"] = min(high, max(low, math.ceil(request.ttl_seconds)))
    for key in ("inboundUrl", "expireOnDelivery", "viberFile"):
        if content.get(key) is not None:
            body[key] = content[key]
    label = content.get("label") or request.label
    if label:
        body["label"] = label
    if callback:
        body["callback"] = {"url": callback, "strategy": CALLBACK_STRATEGY}
    return body


def send_path_and_body(
    request: SendRequest, callback: str | None, choices: WireChoices = DOCUMENTED
) -> tuple[str, dict[str, Any]]:
    """The Routee path and JSON body for one send.

    Raises:
        ValueError: the channel has no Routee send endpoint here (Voice).
    """
    if request.channel is Channel.SMS:
        return "/sms", sms_body(request, callback)
    if request.channel is Channel.VIBER:
        if is_viber_otp(request.content):
            return "/viber/otp", viber_otp_body(request, callback, choices)
        return "/viber", viber_body(request, callback, choices)
    raise ValueError(f"the Routee provider cannot send over {request.channel.value}")
