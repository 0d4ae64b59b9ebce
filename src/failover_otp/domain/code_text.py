"""The code inside a flow's stored text: the ``{pin}`` placeholder, scrubbing a code a client put
in plain text, filling it back at send time, and the redacted echo of an ended OTP flow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PIN_PLACEHOLDER = "{pin}"
REDACTED = "[redacted]"

# Keys whose values say where and how a step goes (numbers, ids, languages): a code found there
# is a coincidence, and rewriting it would change the send.
_ADDRESS_KEYS = frozenset(
    {"to", "type", "from", "templateId", "senderInfoTrackingId", "templateLang", "templateType"}
)


def scrub_code(value: Any, code: str) -> Any:
    """``value`` (a stored step, a label) with the code replaced by ``{pin}`` wherever a careless
    client put it: in every string (labels, extra fields, template parameters, SMS bodies, at
    any depth), and a number that is the code becomes the string ``"{pin}"``."""
    if isinstance(value, str):
        return value.replace(code, PIN_PLACEHOLDER)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and str(value) == code:
        return PIN_PLACEHOLDER
    if isinstance(value, dict):
        return {k: v if k in _ADDRESS_KEYS else scrub_code(v, code) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_code(item, code) for item in value]
    return value


def fill_code(value: Any, code: str) -> Any:
    """The inverse of :func:`scrub_code` at send time: ``{pin}`` becomes the code."""
    if isinstance(value, str):
        return value.replace(PIN_PLACEHOLDER, code)
    if isinstance(value, Mapping):
        return {k: v if k in _ADDRESS_KEYS else fill_code(v, code) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_code(item, code) for item in value]
    return value


def holds_placeholder(value: Any) -> bool:
    """Whether ``{pin}`` appears anywhere :func:`fill_code` would fill it."""
    if isinstance(value, str):
        return PIN_PLACEHOLDER in value
    if isinstance(value, Mapping):
        return any(holds_placeholder(v) for k, v in value.items() if k not in _ADDRESS_KEYS)
    if isinstance(value, list):
        return any(holds_placeholder(item) for item in value)
    return False


def without_pin(step: dict[str, Any]) -> dict[str, Any]:
    """A stored step without its ``pin`` (nor ``templateParams.pin``)."""
    item = {k: v for k, v in step.items() if k != "pin"}
    params = item.get("templateParams")
    if isinstance(params, dict) and "pin" in params:
        item["templateParams"] = {k: v for k, v in params.items() if k != "pin"}
    return item


def redact_request(request: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored echo of an ended OTP flow: no ``pin`` anywhere, and SMS bodies that could hold
    a literal code (those without the ``{pin}`` placeholder) replaced by ``[redacted]``."""
    redacted: list[dict[str, Any]] = []
    for step in request:
        item = without_pin(step)
        message = item.get("message")
        if isinstance(message, dict):
            body = message.get("body")
            if isinstance(body, str) and PIN_PLACEHOLDER not in body:
                item["message"] = {**message, "body": REDACTED}
        redacted.append(item)
    return redacted
