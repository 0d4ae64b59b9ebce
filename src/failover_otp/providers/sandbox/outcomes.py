"""The contract's sandbox outcome table, as pure data shared by both sandboxes.

The last digit of the destination picks the row; the channel picks the column: Viber is the
"first step" column, SMS the "next step" one (the wire sandbox cannot know a message's position
in a flow, so both sandboxes decide by channel). Where the table says an SMS is "not sent" and a
flow sends one anyway (an SMS-only flow), it is delivered after 2 s. Voice has its own table.

As on Routee, an SMS handed to the network is reported ``Sent`` (after 1 s) before its final
``Delivered`` or ``Undelivered``; one Routee could not process (``Failed``) is not. Digit 3's SMS
is therefore "Sent, then Undelivered".

The contract fixes all ten digits, so other report orders are asked for by a marker in the
message's text (an SMS body or a Viber text): ``[sandbox:reversed]``, ``[sandbox:duplicated]``,
``[sandbox:late]`` (see :class:`ReportOrder`). They change when and in which order reports are
*pushed*; tracking look-ups always tell the current status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from failover_otp.domain.statuses import Channel, StepStatus

VIBER_PRICE = 0.0093
SMS_PRICE_PER_PART = 0.0375
VOICE_PRICE = 0.0420


class Refusal(StrEnum):
    BAD_SENDER = "bad_sender"  # HTTP 400 at send
    INSUFFICIENT_BALANCE = "insufficient_balance"  # HTTP 400, Routee code 400001009
    UNAVAILABLE_FIRST = "unavailable_first"  # the first attempt answers 503, a retry is accepted


# Stands for "when the message's ttl passes" in a report's delay.
AT_TTL = -1.0


@dataclass(frozen=True, slots=True)
class ScheduledReport:
    after: float  # sandbox seconds after acceptance, or AT_TTL
    status: StepStatus
    detailed_status: str


@dataclass(frozen=True, slots=True)
class Outcome:
    reports: tuple[ScheduledReport, ...] = ()
    refusal: Refusal | None = None
    callbacks: bool = True  # False: reports are only visible through tracking look-ups
    answered_by: str | None = None  # voice only: human or machine
    call_seconds: int | None = None  # voice only: how long an answered call lasted


def _r(after: float, status: StepStatus, detailed: str | None = None) -> ScheduledReport:
    return ScheduledReport(after, status, detailed or status.render(Channel.SMS))


_SENT_1S = _r(1, StepStatus.SENT)
_DELIVERED_2S = Outcome((_SENT_1S, _r(2, StepStatus.DELIVERED)))

_VIBER = {
    0: Outcome((_r(1, StepStatus.DELIVERED), _r(3, StepStatus.SEEN))),
    1: Outcome((_r(AT_TTL, StepStatus.EXPIRED),)),
    2: Outcome((_r(1, StepStatus.UNDELIVERED),)),
    3: Outcome((_r(1, StepStatus.FAILED),)),
    4: Outcome((_r(1, StepStatus.DELIVERED),)),
    5: Outcome((_r(AT_TTL, StepStatus.EXPIRED),)),
    6: Outcome((_r(1, StepStatus.DELIVERED),), callbacks=False),
    7: Outcome((_r(1, StepStatus.DELIVERED),), refusal=Refusal.UNAVAILABLE_FIRST),
    8: Outcome((_r(1, StepStatus.UNDELIVERED),)),
    9: Outcome(refusal=Refusal.BAD_SENDER),
}

_SMS = {
    0: _DELIVERED_2S,
    1: _DELIVERED_2S,
    2: _DELIVERED_2S,
    3: Outcome((_SENT_1S, _r(2, StepStatus.UNDELIVERED))),
    4: _DELIVERED_2S,
    5: Outcome((_r(1, StepStatus.FAILED),)),
    6: _DELIVERED_2S,
    7: _DELIVERED_2S,
    8: Outcome(refusal=Refusal.INSUFFICIENT_BALANCE),
    9: _DELIVERED_2S,
}


def _call(after: float, status: StepStatus, answered_by: str | None = None) -> Outcome:
    return Outcome((_r(after, status),), answered_by=answered_by, call_seconds=_call_length(status))


def _call_length(status: StepStatus) -> int | None:
    """An answered call lasts as long as its message takes to say (a fixed sandbox figure)."""
    return _ANSWERED_CALL_SECONDS if status is StepStatus.COMPLETED else None


_ANSWERED_CALL_SECONDS = 14


# Voice calls (standard flows), by the same digits.
_VOICE = {
    0: _call(2, StepStatus.COMPLETED, "human"),
    1: _call(3, StepStatus.NO_ANSWER),
    2: _call(1, StepStatus.BUSY),
    3: _call(1, StepStatus.FAILED),
    4: _call(2, StepStatus.COMPLETED, "machine"),
    5: _call(3, StepStatus.NO_ANSWER),
    6: Outcome(
        (_r(2, StepStatus.COMPLETED),),
        callbacks=False,
        answered_by="human",
        call_seconds=_ANSWERED_CALL_SECONDS,
    ),
    7: Outcome(
        (_r(2, StepStatus.COMPLETED),),
        refusal=Refusal.UNAVAILABLE_FIRST,
        answered_by="human",
        call_seconds=_ANSWERED_CALL_SECONDS,
    ),
    8: Outcome(refusal=Refusal.INSUFFICIENT_BALANCE),
    9: Outcome(refusal=Refusal.BAD_SENDER),
}

_TABLES = {Channel.VIBER: _VIBER, Channel.SMS: _SMS, Channel.VOICE: _VOICE}


def outcome_for(channel: Channel, to: str) -> Outcome:
    digits = [c for c in to if c.isdigit()]
    last = int(digits[-1]) if digits else 0
    return _TABLES[channel][last]


def report_delay(report: ScheduledReport, ttl_seconds: float | None) -> float:
    """Sandbox seconds after acceptance at which ``report`` happens."""
    if report.after == AT_TTL:
        return ttl_seconds if ttl_seconds is not None else 0.0
    return report.after


def status_at(
    outcome: Outcome, elapsed: float, ttl_seconds: float | None
) -> ScheduledReport | None:
    """The latest report due ``elapsed`` sandbox seconds after acceptance (None: still queued)."""
    due = [r for r in outcome.reports if report_delay(r, ttl_seconds) <= elapsed]
    return max(due, key=lambda r: report_delay(r, ttl_seconds)) if due else None


def price_for(channel: Channel, parts: int) -> float:
    if channel is Channel.SMS:
        return round(SMS_PRICE_PER_PART * parts, 6)
    return VIBER_PRICE if channel is Channel.VIBER else VOICE_PRICE


class ReportOrder(StrEnum):
    """How a message's reports are pushed (callbacks), chosen by a marker in its text."""

    IN_ORDER = "in-order"  # each when it happens (default)
    REVERSED = "reversed"  # all at once when the last happens, newest first: Undelivered, Sent
    DUPLICATED = "duplicated"  # each when it happens, twice
    LATE = "late"  # all in order, but only after the message's ttl has passed (+ LATE_BY)


_MARKER = re.compile(r"\[sandbox:([a-z-]+)\]")
# How long after the ttl ``late`` reports arrive (sandbox seconds): after the engine's deadline
# has looked the message up and decided.
LATE_BY = 1.0


def report_order(text: str) -> ReportOrder:
    """The order a ``[sandbox:...]`` marker in ``text`` asks for (unknown markers: in order)."""
    for name in _MARKER.findall(text):
        try:
            return ReportOrder(name)
        except ValueError:
            continue
    return ReportOrder.IN_ORDER


def push_schedule(
    outcome: Outcome, order: ReportOrder, ttl_seconds: float | None
) -> list[tuple[float, tuple[ScheduledReport, ...]]]:
    """When (sandbox seconds after acceptance) each batch of reports is pushed; a batch's
    reports are pushed one after the other, in its order."""
    reports = outcome.reports
    if not reports:
        return []
    delays = [report_delay(r, ttl_seconds) for r in reports]
    if order is ReportOrder.REVERSED:
        return [(max(delays), tuple(reversed(reports)))]
    if order is ReportOrder.DUPLICATED:
        return [(d, (r, r)) for d, r in zip(delays, reports, strict=True)]
    if order is ReportOrder.LATE:
        return [(max([*delays, ttl_seconds or 0.0]) + LATE_BY, reports)]
    return [(d, (r,)) for d, r in zip(delays, reports, strict=True)]
