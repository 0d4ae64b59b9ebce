"""Every storage port the services use, in one bundle: ``store/sql_storage.py`` builds it on a
database, ``tests/support/memory_storage.py`` on the in-memory twins (``store/memory*.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from failover_otp.services.account_ports import (
    Applications,
    AuditEntries,
    DashboardSessionRecords,
    OperatorAccounts,
)
from failover_otp.services.ports import (
    Admissions,
    CodeRecords,
    Counters,
    DeadlineQueue,
    DeliveryObservations,
    Expiry,
    FlowRecords,
    IdempotencyKeys,
    Listings,
    PendingSteps,
    RecordedFlows,
    RefusalCounts,
    SpendLedger,
    Statistics,
    WebhookOutbox,
)


@dataclass(frozen=True, slots=True)
class Storage:
    flows: FlowRecords
    deadlines: DeadlineQueue
    outbox: WebhookOutbox
    codes: CodeRecords
    counters: Counters
    idempotency: IdempotencyKeys
    admissions: Admissions
    spend: SpendLedger
    refusals: RefusalCounts
    deliveries: DeliveryObservations
    pending: PendingSteps
    expiry: Expiry
    apps: Applications
    operators: OperatorAccounts
    sessions: DashboardSessionRecords
    audit: AuditEntries
    listings: Listings
    stats: Statistics
    replays: RecordedFlows
