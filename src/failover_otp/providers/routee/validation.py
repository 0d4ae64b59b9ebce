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
from datetime import datetime, timedelta
from typing import Any

from failover_otp.domain.statuses import Channel
from failover_otp.providers.routee import wire
from failover_otp.providers.routee.bodies import TEMPLATE_PARAMS
from failover_otp.providers.routee.wire_choices import DOCUMENTED

SENDER_ID = re.compile(r"^(?:[A-Za-z0-9 ]{1,11}|[0-9]{1,16})$")
NUMBER = re.compile(r"^\+[0-9]{6,15}$")
SEARCHABLE_FIELDS = frozenset({"to", "from", "label", "body", "messageId", "smsId", "status"})
# Viber template variables (reference §2.8): text ≤ 50 characters without links, the one number
# parameter a plain integer.
TEMPLATE_TEXT_MAX = 50
TEMPLATE_NUMBER_PARAMS = frozenset({"codeValidityTime"})
_LINK = re.compile(r"(?i)(?:[a-z][a-z0-9+.-]*://|www\.)")
# The fields of a single Viber message's ``body`` (the names of Routee's Viber objects, §5.4).
VIBER_BODY_FIELDS = frozenset({"text", "imageURL", DOCUMENTED.viber_button.value})
# Searches take dates within the last seven days (reference §4.5).
SEARCH_MAX_AGE_DAYS = 7


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


def template_problem(template_id: Any, params: Mapping[str, Any]) -> str | None:
    """Why Viber would refuse these template variables (None: it would not).

    Templates of the inventory take exactly their parameters; any other template is taken on
    trust, its variables checked for form only.
    """
    wanted = TEMPLATE_PARAMS.get(template_id) if isinstance(template_id, str) else None
    if wanted is not None:
        unknown = sorted(set(params) - wanted)
        missing = sorted(wanted - set(params))
        if unknown:
            return f"templateParams.{unknown[0]} is not a variable of template {template_id}"
        if missing:
            return f"templateParams.{missing[0]} is required by template {template_id}"
    for name, value in params.items():
        if name in TEMPLATE_NUMBER_PARAMS:
            if isinstance(value, bool) or not isinstance(value, int) or len(str(value)) > 50:
                return f"templateParams.{name} must be an integer"
        elif not isinstance(value, str) or len(value) > TEMPLATE_TEXT_MAX or _LINK.search(value):
            return f"templateParams.{name} must be text of at most 50 characters without links"
    return None


def viber_otp_send(body: Mapping[str, Any]) -> SendSpec | Rejection:
    """``POST /viber/otp`` (§2.9); ``to`` in the documented form only (``wire_choices``)."""
    to, sender, params = _number(body), body.get("senderInfoTrackingId"), body.get("templateParams")
    if to is None:
        return invalid("'to' must be one +E.164 number, as a string")
    if not isinstance(sender, str) or not sender:
        return invalid("senderInfoTrackingId is required")
    pin = params.get("pin") if isinstance(params, Mapping) else None
    if not isinstance(pin, str) or not 4 <= len(pin) <= 10:
        return invalid("templateParams.pin is required (4-10 characters)")
    assert isinstance(params, Mapping)  # a pin was found in it
    problem = template_problem(body.get("templateId"), params)
    if problem is not None:
        return invalid(problem)
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


def viber_content_problem(message: Mapping[str, Any]) -> str | None:
    """Why Viber would refuse this message ``body`` (None: it would not).

    Viber business messages come in four forms: text, image, text with a button, and text with
    an image and a button. So an image beside text needs a button, and a button needs text
    (public client notes; Viber's own rules). Only the documented button field is known.
    """
    unknown = sorted(set(message) - VIBER_BODY_FIELDS)
    if unknown:
        return f"Unrecognized field body.{unknown[0]}"
    text, image = message.get("text"), message.get("imageURL")
    button = message.get(DOCUMENTED.viber_button.value)
    if not (text or image):
        return "body.text or body.imageURL is required"
    if button is not None and not (
        isinstance(button, Mapping)
        and isinstance(button.get("caption"), str)
        and isinstance(button.get("targetUrl"), str)
    ):
        return f"body.{DOCUMENTED.viber_button.value} needs a caption and a targetUrl"
    if button is not None and not text:
        return "a button needs body.text"
    if image and text and button is None:
        return "an image with text needs a button"
    return None


def viber_send(body: Mapping[str, Any]) -> SendSpec | Rejection:
    """``POST /viber``: the field names of Routee's Viber tracking objects (§5.4)."""
    to, sender, message = _number(body), body.get("senderInfoTrackingId"), body.get("body")
    if to is None:
        return invalid("'to' must be +E.164")
    if not isinstance(sender, str) or not sender:
        return invalid("senderInfoTrackingId is required")
    if not isinstance(message, Mapping):
        return invalid("body is required")
    problem = viber_content_problem(message)
    if problem is not None:
        return invalid(problem)
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


@dataclass(frozen=True, slots=True)
class SearchWindow:
    start: datetime
    end: datetime | None


def search_window(
    date_start: str | None, date_end: str | None, now: datetime
) -> SearchWindow | Rejection:
    """``dateStart`` (required) and ``dateEnd`` (optional) of a search, ISO-8601, within the
    last seven days (reference §4.5)."""
    if not date_start:
        return invalid("dateStart is required")
    start = wire.parse_time(date_start)
    if start is None:
        return invalid(f"dateStart is not an ISO-8601 date: {date_start[:40]!r}")
    end = wire.parse_time(date_end) if date_end else None
    if date_end and end is None:
        return invalid(f"dateEnd is not an ISO-8601 date: {date_end[:40]!r}")
    if start < now - timedelta(days=SEARCH_MAX_AGE_DAYS):
        return invalid(f"dateStart must be within the last {SEARCH_MAX_AGE_DAYS} days")
    if end is not None and end < start:
        return invalid("dateEnd must not be before dateStart")
    return SearchWindow(start, end)


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


# The sandbox application's scopes; a token request may narrow them (reference §1.1), and each
# resource needs one (403 ``403000000`` without it). "all" asks for every scope.
SCOPES = ("account", "sms", "viber")
ALL_SCOPES = "all"


def requested_scopes(value: str | None) -> frozenset[str] | None:
    """The scopes a token request asks for: every one when absent, None when one is unknown.

    Routee's C# SDK joins several scopes with commas; OAuth2 separates them with spaces.
    """
    names = {n for n in re.split(r"[\s,]+", value or "") if n}
    if not names or ALL_SCOPES in names:
        return frozenset(SCOPES)
    return frozenset(names) if names <= set(SCOPES) else None


class TokenBook:
    """The access tokens a token endpoint handed out, each valid for ``ttl`` seconds and for
    the scopes it was issued with."""

    def __init__(self, app_id: str | None, app_secret: str | None, ttl: int = 3600) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.ttl = ttl
        self.issued = 0
        self._tokens: dict[str, tuple[float, frozenset[str]]] = {}

    def client_ok(self, header: str | None) -> bool:
        """Any Basic credentials, unless an id and secret were configured."""
        credentials = basic_credentials(header)
        if credentials is None or (self.app_id is None and self.app_secret is None):
            return credentials is not None
        login, password = credentials
        same_id = hmac.compare_digest(login.encode(), (self.app_id or "").encode())
        return same_id & hmac.compare_digest(password.encode(), (self.app_secret or "").encode())

    def scopes_of(self, header: str | None) -> frozenset[str] | None:
        """The scopes of a valid ``Bearer`` token (None: no valid token)."""
        scheme, _, token = (header or "").partition(" ")
        entry = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if entry is None or time.monotonic() >= entry[0]:
            return None
        return entry[1]

    def bearer_ok(self, header: str | None) -> bool:
        return self.scopes_of(header) is not None

    def issue(self, scopes: frozenset[str] = frozenset(SCOPES)) -> str:
        now = time.monotonic()
        self._tokens = {t: e for t, e in self._tokens.items() if e[0] > now}
        token = str(uuid.uuid4())
        self._tokens[token] = (now + self.ttl, scopes)
        self.issued += 1
        return token

    def revoke_all(self) -> int:
        revoked = len(self._tokens)
        self._tokens.clear()
        return revoked
