"""Reading what Routee sends us: send answers, tracking objects, searches and callbacks. Pure.

Everything here is lenient on purpose (reference §3.3 "parse leniently"): Viber words statuses
in upper case and SMS in title case, tracking objects say ``status.status``/``status.date`` where
callbacks say ``status.name``/``status.updatedDate``, and older payloads use other spellings. A
field we cannot read is left out of the report rather than failing the whole answer.

Prices come only from Routee, never from a local table: an SMS callback carries one part's
price, so the message's price is that times ``parts``; SMS tracking returns every part, so it is
their sum; Viber has one price per message.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from failover_otp.domain.statuses import Channel, Outcome, StepStatus
from failover_otp.providers.base import DeliveryReport, SendReceipt


class MalformedBody(ValueError):
    """Routee (or something in between) answered with a body we cannot read."""


def dump_json(value: Any) -> bytes:
    return orjson.dumps(value)


def parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        snippet = raw[:80].decode("utf-8", "replace")
        raise MalformedBody(f"the body is not valid JSON: {snippet!r}") from None


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp as an aware UTC datetime (naive ones are taken as UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def routee_time(moment: datetime) -> str:
    """The ``dateStart``/``dateEnd`` form Routee's searches take (``2015-11-11T15:00:00Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# What a report may carry into the store: text as wide as the columns that keep it
# (store/tables.py, steps), a price that is a price, a part count an SMS can have. Routee's
# free text is cut rather than refused: a long carrier description must not lose the status.
DETAILED_STATUS_MAX = 64
COUNTRY_MAX = 4
OPERATOR_MAX = 100
PRICE_MAX = 1e6
PARTS_MAX = 255


def _float(value: Any) -> float | None:
    """A price: a finite number below PRICE_MAX (Routee sends numbers or numeric strings)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):  # not a number; an integer past a float's range
        return None
    return number if math.isfinite(number) and abs(number) < PRICE_MAX else None


def _parts(value: Any) -> int:
    return value if isinstance(value, int) and 1 <= value <= PARTS_MAX else 1


def _text(value: Any, limit: int | None = None) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value[:limit] if limit is not None else value


def digits(number: Any) -> str:
    return "".join(c for c in str(number or "") if c.isdigit())


@dataclass(frozen=True, slots=True)
class StatusField:
    status: StepStatus | None
    detailed: str | None
    at: datetime | None


def read_status(obj: Mapping[str, Any]) -> StatusField:
    """``status`` in any of its shapes: ``{name|status, reason{detailedStatus}, updatedDate|date}``
    or a bare string; an unknown wording reads as ``None``."""
    raw = obj.get("status")
    name: Any = raw
    detailed: str | None = None
    at: datetime | None = None
    if isinstance(raw, Mapping):
        name = raw.get("name") or raw.get("status")
        reason = raw.get("reason")
        if isinstance(reason, Mapping):
            detailed = _text(reason.get("detailedStatus"), DETAILED_STATUS_MAX)
        at = parse_time(raw.get("updatedDate") or raw.get("date"))
    status: StepStatus | None = None
    if isinstance(name, str):
        try:
            status = StepStatus.parse(name)
        except ValueError:
            status = None
    return StatusField(status, detailed, at or parse_time(obj.get("updatedDate")))


def read_receipt(channel: Channel, payload: Any) -> SendReceipt:
    """A send answer (§2.9 Viber OTP, §4.1 SMS) as a receipt.

    Raises:
        MalformedBody: there is no ``trackingId`` to follow the message by.
    """
    if not isinstance(payload, Mapping):
        raise MalformedBody("the answer is not a JSON object")
    tracking_id = _text(payload.get("trackingId"))
    if tracking_id is None:
        raise MalformedBody("the answer has no trackingId")
    parts = 1
    analysis = payload.get("bodyAnalysis")
    if channel is Channel.SMS and isinstance(analysis, Mapping):
        parts = _parts(analysis.get("parts"))
    status = read_status(payload).status or StepStatus.QUEUED
    return SendReceipt(
        message_id=tracking_id,
        status=status,
        price=_float(payload.get("price")),
        parts=parts,
        country=_text(payload.get("country"), COUNTRY_MAX),
        operator=_text(payload.get("operator"), OPERATOR_MAX),
    )


def combine_parts(statuses: Iterable[StepStatus]) -> StepStatus:
    """One status for a multi-part SMS: a failed part fails it; else it is as far as its
    slowest part."""
    seen = list(statuses)
    failed = [s for s in seen if s.outcome is Outcome.FAILURE]
    if failed:
        return failed[0]
    return min(seen, key=lambda s: s.rank) if seen else StepStatus.QUEUED


def report_from_sms_tracking(message_id: str, payload: Any) -> DeliveryReport | None:
    """``GET /sms/tracking/single/{id}``: an array with one object per part (§4.3)."""
    items = payload if isinstance(payload, list) else [payload]
    parts = [item for item in items if isinstance(item, Mapping)]
    fields = [read_status(part) for part in parts]
    known = [(f, p) for f, p in zip(fields, parts, strict=True) if f.status is not None]
    if not known:
        return None
    status = combine_parts(f.status for f, _ in known if f.status is not None)
    chosen = next(f for f, _ in known if f.status is status)
    prices = [_float(p.get("price")) for p in parts]
    price = sum(p for p in prices if p is not None) if all(p is not None for p in prices) else None
    moments = [f.at for f in fields if f.at is not None]
    return DeliveryReport(
        message_id=_text(parts[0].get("messageId")) or message_id,
        status=status,
        detailed_status=chosen.detailed,
        price=price,
        at=max(moments) if moments else None,
    )


def report_from_object(obj: Mapping[str, Any]) -> DeliveryReport | None:
    """One Viber tracking/callback object or one SMS part callback (None: unreadable)."""
    field = read_status(obj)
    message_id = _text(obj.get("messageId")) or _text(obj.get("trackingId"))
    if field.status is None or message_id is None:
        return None
    price = _float(obj.get("price"))
    parts = _parts(obj.get("parts"))
    if price is not None and "messageId" in obj and parts > 1:
        price = round(price * parts, 6)  # a part's callback carries that part's price
    return DeliveryReport(message_id, field.status, field.detailed, price, field.at)


def _objects(payload: Any) -> Iterator[Mapping[str, Any]]:
    """Every message object in a callback: a single object, an array, or a standard Failover
    flow whose ``messages`` hold them."""
    if isinstance(payload, list):
        for item in payload:
            yield from _objects(item)
    elif isinstance(payload, Mapping):
        messages = payload.get("messages")
        if isinstance(messages, list):
            yield from _objects(messages)
        else:
            yield payload


def parse_callback(body: bytes) -> list[DeliveryReport]:
    """Delivery reports in a Routee callback body (SMS §4.4, Viber §5.4, Failover §3.3).

    Objects without an id or with a status we do not know are skipped.

    Raises:
        MalformedBody: the body is not JSON, or not an object or an array.
    """
    payload = parse_json(body)
    if not isinstance(payload, Mapping | list):
        raise MalformedBody("a callback must be a JSON object or array")
    return [r for r in (report_from_object(o) for o in _objects(payload)) if r is not None]


def sms_search_filters(to: str) -> list[dict[str, str]]:
    """``POST /sms/tracking`` body: every SMS to this number (searchTerm is exact-match)."""
    return [{"fieldName": "to", "searchTerm": "+" + digits(to)}]


def match_sms(payload: Any, *, to: str, body: str, label: str | None) -> Mapping[str, Any] | None:
    """The first SMS part in a search page that belongs to this exact send.

    A match needs the same number and body (the body carries the one-time code, so two flows
    almost never share it) and, when we sent one, the same label.
    """
    content = payload.get("content") if isinstance(payload, Mapping) else payload
    if not isinstance(content, list):
        return None
    for item in content:
        if not isinstance(item, Mapping) or not _text(item.get("messageId")):
            continue
        if digits(item.get("to")) != digits(to) or item.get("body") != body:
            continue
        if label and item.get("label") not in (None, label):
            continue
        return item
    return None


def receipt_from_search(item: Mapping[str, Any]) -> SendReceipt:
    """What a search hit tells us about a message whose send answer we never read."""
    parts = _parts(item.get("parts"))
    part_price = _float(item.get("price"))  # a hit is one part, carrying that part's price
    return SendReceipt(
        message_id=str(item["messageId"]),
        status=read_status(item).status or StepStatus.QUEUED,
        price=round(part_price * parts, 6) if part_price is not None else None,
        parts=parts,
        country=_text(item.get("country"), COUNTRY_MAX),
        operator=_text(item.get("operator"), OPERATOR_MAX),
    )


def is_last_page(payload: Any) -> bool:
    """Spring-style pages say ``last``; anything else is treated as the only page."""
    return not (isinstance(payload, Mapping) and payload.get("last") is False)
