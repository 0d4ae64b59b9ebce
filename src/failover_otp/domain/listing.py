"""What the listings are asked for and what they answer: the OTP API's deliveries, the tracking
search and the dashboard's flows table. The web builds these (checked and normalised), services
pass them to the listings port (``services/ports.py``); ``store/listing.py`` runs them as SQL,
``store/memory_listing.py`` over flows in memory, with the same results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from failover_otp.domain.flow import FlowKind, Step
from failover_otp.domain.records import FlowRecord

# Flow ids and tracking ids are lowercase UUIDs: a cursor's id is made of these.
ID_CHARS = "0123456789abcdef-"


# -- the OTP API's deliveries (GET /otp/failover): one row per step ---------------------------


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    """``step_status`` matches as the step is shown (queued includes sends in flight); ``tag`` is
    a case-insensitive part of the step's label, ``phone`` digits of its number (the whole
    number when ``phone_whole``)."""

    application_id: str
    step_status: str | None = None
    flow_status: str | None = None
    tag: str | None = None
    phone: str | None = None
    # The phone is a whole number: matched as such (through an index), not as a part.
    phone_whole: bool = False
    flow_id: str | None = None
    kind: FlowKind | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One step of a listing, with what the API shows of its flow."""

    flow_id: str
    step: Step
    label: str | None
    flow_status: str


# -- the tracking search (POST /failover/tracking): flows -------------------------------------


class SearchField(StrEnum):
    TYPE = "type"
    TO = "to"
    STATUS = "status"
    TERMINATION_CHANNEL = "terminationChannel"


class SearchOperator(StrEnum):
    IS = "is"
    IS_NOT = "is_not"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"


@dataclass(frozen=True, slots=True)
class TrackingFilter:
    """One checked filter. ``term`` is canonical: a channel value (``sms``) for ``type``, a type
    name (``Sms``) for ``terminationChannel``, a flow status (``InProgress``, ``Queued``) for
    ``status``, and the digits of a number for ``to``."""

    field: SearchField
    operator: SearchOperator
    term: str


@dataclass(frozen=True, slots=True)
class TrackingQuery:
    application_id: str
    date_start: datetime | None = None  # inclusive
    date_end: datetime | None = None  # exclusive
    filters: tuple[TrackingFilter, ...] = field(default_factory=tuple)
    page: int = 0
    size: int = 10
    # Matches are counted up to this many (0: all); only these can be paged through.
    count_limit: int = 0


# -- the dashboard's flows table: flows, paged by keyset -------------------------------------


@dataclass(frozen=True, slots=True)
class TableFilter:
    """The table's filters. ``tag`` is a case-insensitive partial match on a step's label (a
    flow's label is its first step's); ``phone`` a partial match on the destination's digits;
    ``flow_id`` a prefix of the flow's id or of one of its steps' tracking ids (the table shows
    the first 8 characters); ``created_from``/``created_to`` bound the creation time
    (inclusive, exclusive)."""

    application_id: str
    step_status: str | None = None
    flow_status: str | None = None
    tag: str | None = None
    phone: str | None = None
    flow_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in the newest-first order: a flow's creation time and id."""

    created_at: datetime
    flow_id: str = ""

    def encode(self) -> str:
        return f"{self.created_at.astimezone(UTC).strftime('%Y%m%dT%H%M%S.%fZ')}~{self.flow_id}"

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        when, _, flow_id = text.partition("~")
        try:
            at = datetime.strptime(when, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
        except ValueError:
            return None
        if len(flow_id) > 36 or any(c not in ID_CHARS for c in flow_id):
            return None
        return cls(at, flow_id)


@dataclass(frozen=True, slots=True)
class TablePage:
    """Matches counted up to the limit, the page's flows newest first, and the cursors of the
    pages on either side (None: nothing there)."""

    total: int
    records: list[FlowRecord]
    newer: Cursor | None
    older: Cursor | None

    @classmethod
    def between(
        cls,
        total: int,
        records: list[FlowRecord],
        positions: list[Cursor],
        *,
        more_newer: bool,
        more_older: bool,
        older_than: Cursor | None,
    ) -> TablePage:
        """The page of ``records`` (at ``positions``, newest first), with a cursor on each side
        where more matches lie."""
        newer = positions[0] if positions and more_newer else None
        older = positions[-1] if positions and more_older else None
        if not positions and older_than is not None and more_newer:
            newer = older_than  # past the oldest match: the way back is still offered
        return cls(total, records, newer, older)
