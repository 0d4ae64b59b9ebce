"""The in-memory twins' tables: one ``MemoryState`` that every twin of a set shares, as the SQL
stores share one database (a flow's save writes the outbox, codes and spend rows with it).

Each twin method runs without an ``await`` between its reads and writes, so on one event loop
it is as atomic as the SQL store's transaction; the twins hold the same rules (version checks,
leases, conditional updates) and the contract suite (``tests/integration/contract/``) runs the
same cases on them, SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

from failover_otp.domain.accounts import Application, Operator
from failover_otp.domain.audit import AuditEntry
from failover_otp.domain.code_records import CodeRow
from failover_otp.domain.flow import Flow
from failover_otp.domain.idempotency_keys import KeyRecord
from failover_otp.domain.limits import window_start
from failover_otp.domain.outbox import WebhookEvent
from failover_otp.domain.records import FlowMeta


@dataclass
class DeadlineRow:
    due_at: datetime
    kind: str
    step_index: int
    claimed_by: str | None = None
    lease_until: datetime | None = None


@dataclass
class StoredFlow:
    flow: Flow
    meta: FlowMeta
    verified_at: datetime | None = None


@dataclass
class OutboxRow:
    event: WebhookEvent
    claimed_by: str | None = None
    lease_until: datetime | None = None


@dataclass
class CounterRow:
    count: int
    expires_at: datetime


@dataclass
class ReservationRow:
    application_id: str
    day: int
    amount: int
    created_at: datetime
    charged: int | None = None


@dataclass
class SessionRecord:
    application_id: str
    operator_id: str | None
    secret_hash: str | None
    created_at: datetime
    expires_at: datetime


@dataclass
class MemoryState:
    flows: dict[str, StoredFlow] = field(default_factory=dict)
    # tracking id -> flow id (the steps' unique index)
    tracking: dict[str, str] = field(default_factory=dict)
    deadlines: dict[str, DeadlineRow] = field(default_factory=dict)
    outbox: dict[int, OutboxRow] = field(default_factory=dict)
    outbox_seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    codes: dict[str, CodeRow] = field(default_factory=dict)
    # (key/seconds, window start) -> count
    counters: dict[tuple[str, int], CounterRow] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], KeyRecord] = field(default_factory=dict)
    # (application, day) -> [reserved, spent]
    spend_days: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    reservations: dict[str, ReservationRow] = field(default_factory=dict)
    # (application, day, reason) -> (count, last_at)
    refusals: dict[tuple[str, str, str], tuple[int, datetime]] = field(default_factory=dict)
    # (channel, country, operator, hour, bin) -> [delivered, censored]
    histograms: dict[tuple[str, str, str, int, int], list[int]] = field(default_factory=dict)
    applications: dict[str, Application] = field(default_factory=dict)
    # token hash -> (application, expires_at)
    tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    service_state: dict[str, str] = field(default_factory=dict)
    operators: dict[str, Operator] = field(default_factory=dict)
    # (operator, application) -> role
    roles: dict[tuple[str, str], str] = field(default_factory=dict)
    sessions: dict[str, SessionRecord] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)


def stored_key(key: str, seconds: int) -> str:
    return f"{key}/{seconds}"


def take_slot(state: MemoryState, key: str, seconds: int, now: datetime, limit: int) -> bool:
    """One event in the window if it holds fewer than ``limit`` (``counter_store.take_slot``)."""
    start = window_start(now, seconds)
    row = state.counters.get((stored_key(key, seconds), start))
    if row is None:
        state.counters[(stored_key(key, seconds), start)] = CounterRow(
            1, datetime.fromtimestamp(start + seconds, UTC)
        )
        return True
    if row.count >= limit:
        return False
    row.count += 1
    return True


def give_back_slot(state: MemoryState, key: str, seconds: int, now: datetime) -> None:
    row = state.counters.get((stored_key(key, seconds), window_start(now, seconds)))
    if row is not None and row.count > 0:
        row.count -= 1


def increment(state: MemoryState, key: str, seconds: int, now: datetime) -> int:
    start = window_start(now, seconds)
    row = state.counters.setdefault(
        (stored_key(key, seconds), start),
        CounterRow(0, datetime.fromtimestamp(start + seconds, UTC)),
    )
    row.count += 1
    return row.count
