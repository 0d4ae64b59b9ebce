"""What the services need from storage, as Protocols (the ports).

Services and workers are typed with these, never with the concrete stores: ``bootstrap`` builds
the SQL stores (``store/``) and passes them in; tests pass the in-memory twins
(``store/memory.py``), which the contract suite (``tests/integration/contract/``) holds to the
same behaviour as SQLite and PostgreSQL. The values they exchange are plain domain types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from failover_otp.domain.code_records import CodeRow
from failover_otp.domain.delivery_model import ModelKey, Observation
from failover_otp.domain.flow import Flow
from failover_otp.domain.idempotency_keys import KeyRecord
from failover_otp.domain.limits import Exceeded, Window
from failover_otp.domain.listing import (
    Cursor,
    Delivery,
    DeliveryFilter,
    TableFilter,
    TablePage,
    TrackingQuery,
)
from failover_otp.domain.outbox import NewWebhookEvent, WebhookEvent
from failover_otp.domain.records import ClaimedDeadline, FlowMeta, FlowRecord, WaitingStep
from failover_otp.domain.refusals import RefusalCount
from failover_otp.domain.replay import RecordedFlow
from failover_otp.domain.rollups import Rollup
from failover_otp.domain.spend import Reservation, SpendDay
from failover_otp.domain.stats import (
    ChannelDelivery,
    CodeChecks,
    Conversion,
    DayChannelCost,
    DayFlows,
    DeliveryLatency,
)


class FlowRecords(Protocol):
    """Flows, their steps and their deadline, saved together with a version check."""

    async def create(
        self, flow: Flow, meta: FlowMeta, *, webhooks: Sequence[NewWebhookEvent] = ()
    ) -> None:
        """Store a new flow (steps, deadline and ``webhooks`` with it, all or nothing)."""
        ...

    async def save(
        self, old: Flow, new: Flow, meta: FlowMeta, *, webhooks: Sequence[NewWebhookEvent] = ()
    ) -> bool:
        """Store ``new`` if nobody saved the flow since ``old`` was loaded (else False, nothing
        written). The same write adds ``webhooks`` to the outbox, and when the flow ends or
        settles it settles its spend reservation and drops its encrypted code."""
        ...

    async def load(self, flow_id: str) -> FlowRecord | None: ...

    async def find(self, application_id: str, any_id: str) -> FlowRecord | None:
        """The application's flow with this id, or whose step has this tracking id."""
        ...

    async def load_by_tracking(self, tracking_id: str) -> FlowRecord | None: ...


class DeadlineQueue(Protocol):
    """Each waiting flow's one deadline (written with the flow), claimed by workers on a lease."""

    async def claim_due(
        self, *, now: datetime, worker_id: str, lease_until: datetime, limit: int
    ) -> list[ClaimedDeadline]:
        """Lease up to ``limit`` due deadlines nobody holds (or whose lease ran out), the
        earliest due first."""
        ...

    async def next_claimable_at(self, now: datetime) -> datetime | None:
        """When the earliest deadline nobody holds falls due (None: none waits)."""
        ...

    async def next_due_at(self) -> datetime | None: ...

    async def pending_count(self) -> int: ...


class WebhookOutbox(Protocol):
    """Customer webhooks: each flow's events delivered in order, claimed on a lease."""

    async def enqueue(self, events: Sequence[NewWebhookEvent]) -> None: ...

    async def claim_due(
        self,
        *,
        now: datetime,
        worker_id: str,
        lease_until: datetime,
        limit: int,
        skip_applications: Collection[str] = (),
        skip_hosts: Collection[str] = (),
    ) -> list[WebhookEvent]:
        """Lease up to ``limit`` due events, at most one per flow (its oldest pending one),
        earliest attempt first, none of ``skip_applications`` nor to ``skip_hosts``."""
        ...

    async def release(self, seqs: Sequence[int], *, worker_id: str) -> None: ...

    async def mark_delivered(self, seq: int, *, attempts: int, now: datetime) -> None: ...

    async def mark_failed(
        self,
        seq: int,
        *,
        worker_id: str,
        attempts: int,
        error: str,
        retry_at: datetime | None,
    ) -> bool:
        """Retry at ``retry_at`` or give up (None); only the claim's holder may (else False)."""
        ...

    async def disable_endpoint(
        self, event: WebhookEvent, *, attempts: int, error: str, reason: str
    ) -> int:
        """``event`` and every other pending one to its URL (same application) are dead;
        how many others."""
        ...

    async def events(self, flow_id: str | None = None) -> list[WebhookEvent]: ...

    async def counts(self) -> dict[str, int]: ...


class CodeRecords(Protocol):
    """Managed codes; every change of verification state is conditional (one winner)."""

    async def put(self, row: CodeRow) -> None: ...

    async def get(self, flow_id: str) -> CodeRow | None: ...

    async def take_attempt(
        self, flow_id: str, application_id: str, now: datetime, *, failure_budget: int = 0
    ) -> tuple[CodeRow | None, bool]:
        """Take one attempt (and, with a budget, the number's failure slot), if the code is
        the application's, unused, unexpired and has one left: (the row, whether taken)."""
        ...

    async def mark_used(self, flow_id: str, now: datetime, *, give_back: str | None) -> bool:
        """Spend the code (true for exactly one caller) and give back ``give_back``'s slot."""
        ...

    async def purge(self, now: datetime, *, keep: timedelta = ...) -> int: ...


class Counters(Protocol):
    """Fixed-window counters shared by every process."""

    async def take(self, windows: Sequence[Window], now: datetime) -> Exceeded | None:
        """Count one event in every window, or (one would go over) in none."""
        ...

    async def add(self, key: str, seconds: int, now: datetime) -> int: ...

    async def current(self, key: str, seconds: int, now: datetime) -> int: ...

    async def purge(self, now: datetime, *, grace: timedelta = ...) -> int: ...


class IdempotencyKeys(Protocol):
    async def claim(self, record: KeyRecord, now: datetime) -> KeyRecord | None:
        """Insert ``record`` unless a live one holds its key: None when claimed, else the
        holder (an expired one is replaced)."""
        ...

    async def take_over(self, held: KeyRecord, lease_until: datetime) -> bool: ...

    async def complete(self, application_id: str, key: str, status: int, body: str) -> None: ...

    async def release(
        self, application_id: str, key: str, *, forget: bool, now: datetime
    ) -> None: ...

    async def purge(self, now: datetime) -> int: ...


class Listings(Protocol):
    """One application's flows or deliveries, filtered, newest first: the OTP API's list, the
    tracking search and the dashboard's table. Totals are counted no further than a limit (one
    past it means "more than that"), and only that many matches can be paged through."""

    async def deliveries(
        self, where: DeliveryFilter, *, limit: int, offset: int, count_limit: int = 0
    ) -> tuple[int, list[Delivery]]:
        """(matching steps, the page of ``limit`` after ``offset``), newest step first."""
        ...

    async def search(self, query: TrackingQuery) -> tuple[int, list[FlowRecord]]:
        """(matching flows, the page ``query.page`` of ``query.size``), newest flow first."""
        ...

    async def table(
        self,
        where: TableFilter,
        *,
        size: int,
        count_limit: int = ...,
        older_than: Cursor | None = None,
        newer_than: Cursor | None = None,
    ) -> TablePage:
        """The ``size`` newest matches older than ``older_than`` (or the oldest ``size`` newer
        than ``newer_than``), with the cursors of the pages either side."""
        ...

    def table_batches(
        self, where: TableFilter, *, size: int = ...
    ) -> AsyncIterator[list[FlowRecord]]:
        """Every match, newest first, ``size`` at a time."""
        ...


class Admissions(Protocol):
    """A send's admission: its limit windows and its spend reservation, taken together."""

    async def take(
        self, windows: Sequence[Window], reservation: Reservation | None, cap: int, now: datetime
    ) -> tuple[Exceeded | None, SpendDay | None]:
        """Count one event in every window and reserve the flow's worst case on its day (within
        ``cap``), all or nothing: (the window that frees up last if one went over, the day
        after the reservation, or None if it did not fit)."""
        ...


class SpendLedger(Protocol):
    async def today(self, application_id: str, now: datetime) -> SpendDay: ...

    async def purge(self, now: datetime) -> int:
        """Release reservations of flows never created; forget old settled rows."""
        ...


class RefusalCounts(Protocol):
    async def record(self, application_id: str, reason: str, now: datetime) -> None: ...

    async def counts(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[RefusalCount]:
        """Per reason over the UTC days from ``since``'s to ``until``'s, most frequent first."""
        ...


class DeliveryObservations(Protocol):
    """The delivery model's history: counts per key, bin and hour."""

    async def record(self, observations: list[Observation]) -> None: ...

    async def counts(self, since: datetime) -> list[tuple[ModelKey, int, int, int]]:
        """(key, bin, delivered, censored) summed over the hours from ``since``'s on."""
        ...


class PendingSteps(Protocol):
    async def waiting_steps(
        self, *, now: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> Sequence[WaitingStep]:
        """Steps whose flow waits on their final status, in (due_at, flow_id) order after
        the cursor ``after``."""
        ...


class Expiry(Protocol):
    async def purge_expired(
        self,
        now: datetime,
        *,
        webhook_retention: timedelta,
        audit_retention: timedelta,
        flow_retention: timedelta,
        delivery_window: timedelta,
    ) -> dict[str, int]:
        """Delete what expired or outlived its retention (0: kept for ever); how many of each."""
        ...


class Statistics(Protocol):
    """The dashboard's aggregates over an application's flows."""

    async def rollup(self, application_id: str, since: datetime, until: datetime) -> Rollup:
        """The daily rollups' counters of the flows created in ``[since, until)``."""
        ...

    async def channel_delivery(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[ChannelDelivery]: ...

    async def flows_per_day(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[DayFlows]: ...

    async def cost_per_day(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[DayChannelCost]: ...

    async def delivery_latency(
        self, application_id: str, since: datetime, until: datetime, *, by_country: bool = True
    ) -> list[DeliveryLatency]: ...

    async def code_checks(self, flow_id: str) -> CodeChecks | None: ...

    async def conversion(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[Conversion]: ...


class RecordedFlows(Protocol):
    async def recorded(
        self, application_id: str, since: datetime, until: datetime, *, time_scale: float = 1.0
    ) -> tuple[list[RecordedFlow], int]:
        """The ended Viber → SMS flows created in ``[since, until)`` (the newest, at most
        ``REPLAY_LIMIT``, in flow id order) and how many other ended flows were skipped."""
        ...
