"""What Routee's endpoints accept, as our standalone sandbox enforces it: credentials, tokens,
send bodies and search filters. Pure apart from the token book's clock.

The counterpart of ``bodies`` (what our client sends): a body the provider builds must pass
here, and a body Routee would refuse is refused here with Routee's error code (reference §4.1,
§2.9, §6). Rules the reference does not state are kept loose rather than guessed.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from failover_otp.domain.statuses import Channel

SENDER_ID = re.compile(r"^(?:[A-Za-z0-9 ]{1,11}|[0-9]{1,16})$")
NUMBER = re.compile(r"^\+[0-9]{6,15}$")
SEARCHABLE_FIELDS = frozenset({"to", "from", "label", "body", "messageId", "smsId", "status"})


@dataclass(frozen=True, slots=True)
class Rejection:
    http_status: int
    code: str
    message: str


def invalid(message: str) -> Rejection:
    return Rejection(400, "400000000", message)


@dataclass(frozen=True, slots=True)
class SendSpec:
    """One accepted-looking send, in the sandbox's terms."""

    channel: Channel
    to: str  # digits, no "+"
    text: str  # what the message says: SMS body, Viber text, or the OTP pin
    key_text: str  # what makes two requests the same send (see the wire server's docstring)
    sender: str
    label: str | None
    ttl: int | None  # in the endpoint's own unit (SMS minutes, Viber seconds)
    callback: Mapping[str, Any] | None = None
    template: Mapping[str, Any] | None = None
    viber_body: Mapping[str, Any] | None = None

    @property
    def ttl_seconds(self) -> float | None:
        if self.ttl is None:
            return None
        return float(self.ttl * 60 if self.channel is Channel.SMS else self.ttl)


def _number(body: Mapping[str, Any]) -> str | None:
    to = body.get("to")
    return to[1:] if isinstance(to, str) and NUMBER.match(to) else None


def _ttl(value: Any, low: int, high: int) -> int | Rejection | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return invalid(f"ttl must be an integer in {low}-{high}")
    return value


def _label(body: Mapping[str, Any]) -> str | None:
    label = body.get("label")
    return label if isinstance(label, str) else None


def _callback(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    callback = body.get("callback")
    if isinstance(callback, Mapping) and isinstance(callback.get("url"), str):
        return {"url": callback["url"], "strategy": callback.get("strategy") or "OnChange"}
    return None


def sms_send(body: Mapping[str, Any]) -> SendSpec | Rejection:
    """``POST /sms`` (§4.1)."""
    to, text, sender = _number(body), body.get("body"), body.get("from")
    if to is None:
        return Rejection(400, "400005000", "No recipients: 'to' must be +E.164")
    if not isinstance(sender, str) or not SENDER_ID.match(sender):
        return Rejection(400, "400005000", "Invalid sender id")
    if not isinstance(text, str) or not text:
        return invalid("body is required")
    ttl = _ttl(body.get("ttl"), 1, 4320)
    if isinstance(ttl, Rejection):
        return ttl
    return SendSpec(Channel.SMS, to, text, text, sender, _label(body), ttl, _callback(body))


def viber_otp_send(body: Mapping[str, Any]) -> SendSpec | Rejection:
    """``POST /viber/otp`` (§2.9)."""
    to, sender, params = _number(body), body.get("senderInfoTrackingId"), body.get("templateParams")
    if to is None:
        return invalid("'to' must be +E.164")
    if not isinstance(sender, str) or not sender:
        return invalid("senderInfoTrackingId is required")
    pin = params.get("pin") if isinstance(params, Mapping) else None
    if not isinstance(pin, str) or not 4 <= len(pin) <= 10:
        return invalid("templateParams.pin is required (4-10 characters)")
    ttl = _ttl(body.get("ttl"), 1, 1_209_600)
    if isinstance(ttl, Rejection):
        return ttl
    template = {
        "templateId": body.get("templateId"),
        "templateLang": body.get("templateLang") or "en",
        "templateParams": dict(params) if isinstance(params, Mapping) else {},
        "seq": body.get("seq"),
        "type": body.get("type"),
    }
    key = f"{template['templateId']}:{pin}"
    return SendSpec(
        Channel.VIBER, to, pin, key, sender, _label(body), ttl, _callback(body), template=template
    )


def viber_send(body: Mapping[str, Any]) -> SendSpec | Rejection:
    """``POST /viber``: the field names of Routee's Viber tracking objects (§5.4)."""
    to, sender, message = _number(body), body.get("senderInfoTrackingId"), body.get("body")
    if to is None:
        return invalid("'to' must be +E.164")
    if not isinstance(sender, str) or not sender:
        return invalid("senderInfoTrackingId is required")
    if not isinstance(message, Mapping) or not (message.get("text") or message.get("imageURL")):
        return invalid("body.text or body.imageURL is required")
    text = str(message.get("text") or message.get("imageURL"))
    ttl = _ttl(body.get("ttl"), 30, 86400)
    if isinstance(ttl, Rejection):
        return ttl
    return SendSpec(
        Channel.VIBER,
        to,
        text,
        text,
        sender,
        _label(body),
        ttl,
        _callback(body),
        viber_body=dict(message),
    )


def search_filters(filters: Any) -> list[tuple[str, Any]] | Rejection:
    """``POST /sms/tracking`` body: ``[{fieldName, searchTerm}]``, exact match (``id`` is an
    alias of ``messageId``)."""
    if not isinstance(filters, list):
        return invalid("the body must be an array of {fieldName, searchTerm}")
    parsed: list[tuple[str, Any]] = []
    for item in filters:
        name = item.get("fieldName") if isinstance(item, Mapping) else None
        name = "messageId" if name == "id" else name
        if name not in SEARCHABLE_FIELDS:
            return invalid(f"fieldName must be one of {sorted(SEARCHABLE_FIELDS)}")
        parsed.append((str(name), item.get("searchTerm")))
    return parsed


def matches(part: Mapping[str, Any], filters: list[tuple[str, Any]]) -> bool:
    """Whether one SMS tracking object passes every filter."""
    for name, term in filters:
        value = part.get(name)
        if name == "status" and isinstance(value, Mapping):
            value = value.get("status")
        if value != term:
            return False
    return True


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(id, secret) from an ``Authorization: Basic ...`` header."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    login, colon, password = decoded.partition(":")
    return (login, password) if colon else None


class TokenBook:
    """The access tokens a token endpoint handed out, each valid for ``ttl`` seconds."""

    def __init__(self, app_id: str | None, app_secret: str | None, ttl: int = 3600) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.ttl = ttl
        self.issued = 0
        self._expiry: dict[str, float] = {}

    def client_ok(self, header: str | None) -> bool:
        """Any Basic credentials, unless an id and secret were configured."""
        credentials = basic_credentials(header)
        if credentials is None or (self.app_id is None and self.app_secret is None):
            return credentials is not None
        login, password = credentials
        same_id = hmac.compare_digest(login.encode(), (self.app_id or "").encode())
        return same_id & hmac.compare_digest(password.encode(), (self.app_secret or "").encode())

    def bearer_ok(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        expiry = self._expiry.get(token.strip()) if scheme.lower() == "bearer" else None
        return expiry is not None and time.monotonic() < expiry

    def issue(self) -> str:
        now = time.monotonic()
        self._expiry = {t: e for t, e in self._expiry.items() if e > now}
        token = str(uuid.uuid4())
        self._expiry[token] = now + self.ttl
        self.issued += 1
        return token

    def revoke_all(self) -> int:
        revoked = len(self._expiry)
        self._expiry.clear()
        return revoked
