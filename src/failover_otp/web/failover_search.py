"""Reading a tracking search request: dates, filters, and the Spring-style page it answers with.

Every mistake (unknown field or operator, an operator the field does not take, an unknown
status or channel, an unreadable date) is a :class:`Invalid` (HTTP 422) that names the
offending item, never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from failover_otp.domain.statuses import Channel, FlowStatus
from failover_otp.services.errors import Invalid, shown
from failover_otp.services.flow_reads import SearchField, SearchOperator, TrackingFilter
from failover_otp.web.failover_schemas import SearchFilter

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 10
# The document types `size` as int32 and only asks for >= 1; larger pages are capped.
SIZE_LIMIT = 2**31 - 1
MAX_FILTERS = 20


def page_size(requested: int) -> int:
    """The page size served: at most ``MAX_PAGE_SIZE``, as Spring caps a ``Pageable`` above its
    max-page-size instead of refusing it; the page's ``size`` says what was served."""
    return min(requested, MAX_PAGE_SIZE)


_FIELDS = {f.value.lower(): f for f in SearchField}
_OPERATORS = {o.value: o for o in SearchOperator}
_EQUALITY = frozenset({SearchOperator.IS, SearchOperator.IS_NOT})
_CHANNELS = {c.type_name.lower(): c for c in Channel}
_FLOW_STATUSES = {s.value.lower(): s for s in FlowStatus}
# A "+" in a query string arrives as a space unless the client encoded it as %2B.
_SPACED_OFFSET = re.compile(r"^(.+T[0-9:.]+) ([0-9]{2}(?::?[0-9]{2})?)$")
_NUMBER_SEPARATORS = re.compile(r"[\s\-().]")


def _fail(where: list[str | int], message: str, kind: str = "value_error") -> Invalid:
    label = ".".join(str(p) for p in where if p not in ("body", "query"))
    return Invalid(f"{label}: {message}", details=[{"loc": where, "msg": message, "type": kind}])


def parse_instant(text: str | None, name: str) -> datetime | None:
    """An ISO-8601 instant (``2025-05-05T15:00Z``, ``2025-05-05T15:00:00.123+02:00``,
    ``2025-05-05``); no zone means UTC. Empty means unbounded."""
    if text is None or not text.strip():
        return None
    raw = text.strip()
    spaced = _SPACED_OFFSET.match(raw)
    if spaced:
        raw = f"{spaced.group(1)}+{spaced.group(2)}"
    if raw[-1] in "zZ":
        raw = raw[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise _fail(
            ["query", name],
            f"{shown(text)} is not an ISO-8601 date-time (e.g. 2025-05-05T15:00Z)",
            "datetime_parsing",
        ) from None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first representable instant
        raise _fail(
            ["query", name],
            f"{shown(text)} is outside the dates that can be searched (years 1 to 9999 in UTC)",
            "datetime_out_of_range",
        ) from None


def parse_range(
    date_start: str | None, date_end: str | None
) -> tuple[datetime | None, datetime | None]:
    start = parse_instant(date_start, "dateStart")
    end = parse_instant(date_end, "dateEnd")
    if start is not None and end is not None and start > end:
        raise _fail(["query", "dateEnd"], "dateEnd is before dateStart")
    return start, end


def _term(field: SearchField, text: str, where: list[str | int]) -> str:
    term = text.strip()
    if field is SearchField.TO:
        digits = _NUMBER_SEPARATORS.sub("", term).removeprefix("+")
        if not digits:
            raise _fail(where, "searchTerm must name a number or part of one")
        return digits
    if field is SearchField.STATUS:
        status = _FLOW_STATUSES.get(term.lower().replace("_", "").replace(" ", ""))
        if status is None:
            names = ", ".join(s.value for s in FlowStatus)
            raise _fail(where, f"{shown(text)} is not a flow status ({names})")
        return status.value
    channel = _CHANNELS.get(term.lower())
    if channel is None:
        raise _fail(where, f"{shown(text)} is not a channel type (Sms, Viber, Voice)")
    return channel.value if field is SearchField.TYPE else channel.type_name


def parse_filters(raw: Sequence[SearchFilter]) -> tuple[TrackingFilter, ...]:
    if len(raw) > MAX_FILTERS:
        raise _fail(["body"], f"at most {MAX_FILTERS} filters")
    parsed: list[TrackingFilter] = []
    for index, item in enumerate(raw):
        field = _FIELDS.get(item.fieldName.strip().lower())
        if field is None:
            names = ", ".join(f.value for f in SearchField)
            raise _fail(
                ["body", index, "fieldName"],
                f"unknown field {shown(item.fieldName)} (one of {names})",
            )
        operator_text = (item.searchOperator or "").strip().lower() or SearchOperator.IS.value
        operator = _OPERATORS.get(operator_text)
        allowed = SearchOperator if field is SearchField.TO else _EQUALITY
        if operator is None or operator not in allowed:
            names = ", ".join(o.value for o in SearchOperator if o in allowed)
            raise _fail(
                ["body", index, "searchOperator"],
                f"unknown operator {shown(operator_text)} for {field.value} (one of {names})",
            )
        term = _term(field, item.searchTerm, ["body", index, "searchTerm"])
        parsed.append(TrackingFilter(field, operator, term))
    return tuple(parsed)
