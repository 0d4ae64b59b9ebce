"""The storage bundle on the in-memory twins (store/memory.py): what unit tests of services,
workers and timelines run on."""

from __future__ import annotations

from failover_otp.services.storage import Storage
from failover_otp.store.memory import MemoryStores


def memory_storage(stores: MemoryStores | None = None) -> Storage:
    """Every port on one in-memory state (``stores``'s, or a fresh one)."""
    s = stores or MemoryStores()
    return Storage(
        flows=s.flows,
        deadlines=s.deadlines,
        outbox=s.outbox,
        codes=s.codes,
        counters=s.counters,
        idempotency=s.idempotency,
        admissions=s.admissions,
        spend=s.spend,
        refusals=s.refusals,
        deliveries=s.deliveries,
        pending=s.pending,
        expiry=s.expiry,
        apps=s.apps,
        operators=s.operators,
        sessions=s.sessions,
        audit=s.audit,
        listings=s.listings,
        stats=s.stats,
        replays=s.replays,
    )
