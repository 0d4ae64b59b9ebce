"""Channels, step statuses and how each status counts towards the flow's outcome.

Routee words statuses differently per channel (Viber upper-case, SMS and Voice title-case);
the engine works on one canonical vocabulary and renders each channel's own wording at the edge.
``SENDING`` is the engine's own and never shown: the documents have no such status, so a step
whose send is in flight reads as queued (see docs/decisions.md).
"""

from __future__ import annotations

from enum import Enum, StrEnum


class Channel(StrEnum):
    VIBER = "viber"
    SMS = "sms"
    VOICE = "voice"

    @property
    def type_name(self) -> str:
        """The channel as Routee names a message ``type`` (``Viber``, ``Sms``, ``Voice``)."""
        return self.value.capitalize()


class StepStatus(StrEnum):
    # Our own: the send intent is recorded and the provider has not answered yet.
    SENDING = "SENDING"
    QUEUED = "QUEUED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    SEEN = "SEEN"
    COMPLETED = "COMPLETED"
    UNDELIVERED = "UNDELIVERED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
    UNSENT = "UNSENT"
    BUSY = "BUSY"
    NO_ANSWER = "NO_ANSWER"
    TERMINATED = "TERMINATED"

    @property
    def outcome(self) -> Outcome:
        return _OUTCOME[self]

    @property
    def rank(self) -> int:
        """Statuses only move up in rank, so late, duplicated or reordered reports never regress."""
        return _RANK[self]

    @property
    def shown(self) -> StepStatus:
        """The status as the APIs show it: a send in flight is queued."""
        return StepStatus.QUEUED if self is StepStatus.SENDING else self

    def render(self, channel: Channel) -> str:
        """The status as the channel's own API (Routee's) words it."""
        if channel is Channel.VIBER:
            return self.shown.value
        return _TITLE[self.shown]

    @property
    def awaits_verdict(self) -> bool:
        """Still waiting for the provider's final word: queued, or an SMS ``Sent`` (the network
        took it; a delivery report may still say ``Undelivered``)."""
        return self.outcome is Outcome.PENDING or self is StepStatus.SENT

    @classmethod
    def parse(cls, text: str) -> StepStatus:
        """Read a status in any channel's wording, case-insensitively (``NoAnswer``).

        ``SENDING`` is not a word of any document, so it is not read either."""
        key = text.strip().replace(" ", "").replace("_", "").upper()
        try:
            return _BY_KEY[key]
        except KeyError:
            raise ValueError(f"unknown status {text!r}") from None


class Outcome(Enum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"


_OUTCOME = {
    StepStatus.SENDING: Outcome.PENDING,
    StepStatus.QUEUED: Outcome.PENDING,
    # The seed counts SMS "Sent" as success: the flow may end on it.
    StepStatus.SENT: Outcome.SUCCESS,
    StepStatus.DELIVERED: Outcome.SUCCESS,
    StepStatus.SEEN: Outcome.SUCCESS,
    StepStatus.COMPLETED: Outcome.SUCCESS,
    StepStatus.UNDELIVERED: Outcome.FAILURE,
    StepStatus.EXPIRED: Outcome.FAILURE,
    StepStatus.FAILED: Outcome.FAILURE,
    StepStatus.UNSENT: Outcome.FAILURE,
    StepStatus.BUSY: Outcome.FAILURE,
    StepStatus.NO_ANSWER: Outcome.FAILURE,
    StepStatus.TERMINATED: Outcome.FAILURE,
}

_FINAL_RANK = 4
_RANK = {
    StepStatus.SENDING: 0,
    StepStatus.QUEUED: 1,
    StepStatus.SENT: 2,
    StepStatus.DELIVERED: 3,
    **{s: _FINAL_RANK for s in StepStatus if _OUTCOME[s] is Outcome.FAILURE},
    StepStatus.SEEN: _FINAL_RANK,
    StepStatus.COMPLETED: _FINAL_RANK,
}

_TITLE = {
    StepStatus.QUEUED: "Queued",
    StepStatus.SENT: "Sent",
    StepStatus.DELIVERED: "Delivered",
    StepStatus.SEEN: "Seen",
    StepStatus.COMPLETED: "Completed",
    StepStatus.UNDELIVERED: "Undelivered",
    StepStatus.EXPIRED: "Expired",
    StepStatus.FAILED: "Failed",
    StepStatus.UNSENT: "Unsent",
    StepStatus.BUSY: "Busy",
    StepStatus.NO_ANSWER: "NoAnswer",
    StepStatus.TERMINATED: "Terminated",
}

_BY_KEY = {s.value.replace("_", ""): s for s in StepStatus if s is not StepStatus.SENDING}


def stored_as(shown: StepStatus) -> frozenset[StepStatus]:
    """The statuses a filter on the shown status ``shown`` matches (queued includes in flight)."""
    return frozenset(s for s in StepStatus if s.shown is shown)


def is_final(status: StepStatus) -> bool:
    return status.rank == _FINAL_RANK


def can_move(current: StepStatus, new: StepStatus) -> bool:
    """Whether a reported status may replace the current one.

    Only forward moves are taken. A DELIVERED message may still become SEEN but never a failure:
    expiry after delivery (``expireOnDelivery``) is the engine's own decision, not a report.
    """
    if new.rank <= current.rank:
        return False
    return not (current is StepStatus.DELIVERED and new is not StepStatus.SEEN)


class FlowStatus(StrEnum):
    QUEUED = "Queued"
    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    @property
    def is_terminal(self) -> bool:
        return self in (FlowStatus.SUCCEEDED, FlowStatus.FAILED)


class StatusCode(int, Enum):
    """Why a flow failed, as the seed numbers it."""

    SERVER_ERROR = 0
    INSUFFICIENT_BALANCE = 1
    NO_NEXT_STEP = 2
    NOT_FAILOVER_TRIGGERED = 3


class RejectReason(StrEnum):
    """Why the provider refused a send outright."""

    INSUFFICIENT_BALANCE = "insufficient_balance"
    # The provider could not be reached or failed (5xx after retries, auth): statusCode 0.
    SERVER_ERROR = "server_error"
    # The provider understood and refused the request (bad sender, invalid number).
    INVALID_REQUEST = "invalid_request"


DEFAULT_FAILOVER_ON: dict[Channel, frozenset[StepStatus]] = {
    Channel.VIBER: frozenset({StepStatus.EXPIRED, StepStatus.FAILED, StepStatus.UNDELIVERED}),
    Channel.SMS: frozenset({StepStatus.FAILED, StepStatus.UNDELIVERED}),
    Channel.VOICE: frozenset({StepStatus.BUSY, StepStatus.NO_ANSWER}),
}
