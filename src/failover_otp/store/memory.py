"""The in-memory twins of every storage port, on one shared ``MemoryState`` (as the SQL stores
share one database): what service, worker and timeline tests run on, in milliseconds.

``MemoryStores()`` has one attribute per port, named as in ``services/storage.Storage``
(``tests/support/memory_storage.py`` builds that bundle from it). The contract suite
(``tests/integration/contract/``) holds every twin to the SQL stores' behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from failover_otp.domain.delivery_model import hour_of
from failover_otp.domain.outbox import DEAD, DELIVERED
from failover_otp.domain.records import FlowRecord
from failover_otp.domain.refusals import day_of as refusal_day
from failover_otp.store.memory_accounts import (
    MemoryApplications,
    MemoryAudit,
    MemoryOperators,
    MemorySessions,
)
from failover_otp.store.memory_flows import MemoryFlows, MemoryPendingSteps
from failover_otp.store.memory_limits import (
    MemoryAdmissions,
    MemoryCodes,
    MemoryCounters,
    MemoryDeliveries,
    MemoryIdempotencyKeys,
    MemoryRefusals,
    MemorySpend,
)
from failover_otp.store.memory_listing import MemoryListings
from failover_otp.store.memory_outbox import MemoryOutbox
from failover_otp.store.memory_replays import MemoryRecordedFlows
from failover_otp.store.memory_state import MemoryState
from failover_otp.store.memory_stats import MemoryStatistics

K = TypeVar("K")
V = TypeVar("V")
# As store/purge_store.py.
COUNTER_GRACE = timedelta(hours=1)
CODE_GRACE = timedelta(days=1)
REFUSALS_KEPT = timedelta(days=91)


class MemoryExpiry:
    """``Expiry``: what ``PurgeStore.purge_expired`` deletes, deleted from the state."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def purge_expired(
        self,
        now: datetime,
        *,
        webhook_retention: timedelta,
        audit_retention: timedelta,
        flow_retention: timedelta,
        delivery_window: timedelta,
    ) -> dict[str, int]:
        s = self.state
        done = {
            "access_tokens": _drop(s.tokens, lambda t: t[1] <= now),
            "dashboard_sessions": _drop(s.sessions, lambda r: r.expires_at <= now),
            "idempotency_keys": _drop(s.idempotency, lambda r: r.expires_at <= now),
            "rate_counters": _drop(s.counters, lambda r: r.expires_at < now - COUNTER_GRACE),
            "otp_codes": _drop(s.codes, lambda r: r.expires_at < now - CODE_GRACE),
            "webhook_events": _drop(
                s.outbox,
                lambda r: (
                    r.event.status in (DELIVERED, DEAD)
                    and r.event.created_at < now - webhook_retention
                ),
            ),
            "audit_entries": 0,
            "flows": 0,
            "daily_rollups": 0,  # no dashboard rollups in memory
        }
        oldest_day = refusal_day(now - REFUSALS_KEPT)
        done["refusal_counts"] = len([k for k in s.refusals if k[1] < oldest_day])
        s.refusals = {k: v for k, v in s.refusals.items() if k[1] >= oldest_day}
        oldest_hour = hour_of(now - delivery_window)
        done["delivery_histograms"] = len([k for k in s.histograms if k[3] < oldest_hour])
        s.histograms = {k: v for k, v in s.histograms.items() if k[3] >= oldest_hour}
        done["spend_released"] = await MemorySpend(s).purge(now)
        if audit_retention:
            kept = [e for e in s.audit if e.at >= now - audit_retention]
            done["audit_entries"] = len(s.audit) - len(kept)
            s.audit = kept
        if flow_retention:
            done["flows"] = self._flows_created_before(now - flow_retention)
        return done

    def _flows_created_before(self, before: datetime) -> int:
        """A flow goes with its steps, deadline, code and webhook events."""
        s = self.state
        old = {i for i, f in s.flows.items() if f.flow.created_at < before}
        for flow_id in old:
            del s.flows[flow_id]
            s.deadlines.pop(flow_id, None)
            s.codes.pop(flow_id, None)
        s.tracking = {t: f for t, f in s.tracking.items() if f not in old}
        s.outbox = {q: r for q, r in s.outbox.items() if r.event.flow_id not in old}
        return len(old)


def _drop(table: dict[K, V], expired: Callable[[V], bool]) -> int:
    gone = [k for k, v in table.items() if expired(v)]
    for k in gone:
        del table[k]
    return len(gone)


class MemoryStores:
    """Every twin on one state (a fresh, empty one unless given)."""

    def __init__(self, state: MemoryState | None = None) -> None:
        self.state = state = state or MemoryState()
        self.flows = self.deadlines = MemoryFlows(state)
        self.outbox = MemoryOutbox(state)
        self.codes = MemoryCodes(state)
        self.counters = MemoryCounters(state)
        self.idempotency = MemoryIdempotencyKeys(state)
        self.admissions = MemoryAdmissions(state)
        self.spend = MemorySpend(state)
        self.refusals = MemoryRefusals(state)
        self.deliveries = MemoryDeliveries(state)
        self.pending = MemoryPendingSteps(state)
        self.expiry = MemoryExpiry(state)
        self.apps = MemoryApplications(state)
        self.operators = MemoryOperators(state)
        self.sessions = MemorySessions(state)
        self.audit = MemoryAudit(state)
        self.listings = MemoryListings(
            lambda: [FlowRecord(s.flow, s.meta) for s in state.flows.values()]
        )
        self.stats = MemoryStatistics(state)
        self.replays = MemoryRecordedFlows(state)
