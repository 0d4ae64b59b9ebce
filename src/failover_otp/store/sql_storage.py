"""Every storage port on one SQLite or PostgreSQL database, as the services' bundle
(``services/storage.Storage``); ``tests/support/memory_storage.py`` builds it on the in-memory
twins."""

from __future__ import annotations

from failover_otp.services.storage import Storage
from failover_otp.store.admission_store import AdmissionStore
from failover_otp.store.app_store import AppStore
from failover_otp.store.audit_store import AuditStore
from failover_otp.store.code_store import CodeStore
from failover_otp.store.counter_store import CounterStore
from failover_otp.store.database import Database
from failover_otp.store.deadline_queue import DeadlineQueue
from failover_otp.store.delivery_store import DeliveryStore
from failover_otp.store.flow_store import FlowStore
from failover_otp.store.idempotency_store import IdempotencyStore
from failover_otp.store.listing import ListingStore
from failover_otp.store.operator_store import OperatorStore
from failover_otp.store.pending_store import PendingStore
from failover_otp.store.purge_store import PurgeStore
from failover_otp.store.refusal_store import RefusalStore
from failover_otp.store.replay_store import ReplayStore
from failover_otp.store.session_store import SessionStore
from failover_otp.store.spend_store import SpendStore
from failover_otp.store.stats_store import StatsStore
from failover_otp.store.webhook_store import WebhookStore


def sql_storage(db: Database, *, purge_batch: int = 100) -> Storage:
    """Every storage port on ``db`` (SQLite or PostgreSQL)."""
    return Storage(
        flows=FlowStore(db),
        deadlines=DeadlineQueue(db),
        outbox=WebhookStore(db),
        codes=CodeStore(db),
        counters=CounterStore(db),
        idempotency=IdempotencyStore(db),
        admissions=AdmissionStore(db),
        spend=SpendStore(db),
        refusals=RefusalStore(db),
        deliveries=DeliveryStore(db),
        pending=PendingStore(db),
        expiry=PurgeStore(db, batch=purge_batch),
        apps=AppStore(db),
        operators=OperatorStore(db),
        sessions=SessionStore(db),
        audit=AuditStore(db),
        listings=ListingStore(db),
        stats=StatsStore(db),
        replays=ReplayStore(db),
    )
