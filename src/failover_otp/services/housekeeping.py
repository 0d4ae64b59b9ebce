"""Housekeeping: what has expired, and flows past their retention, are deleted on a schedule
(the worker) or on demand (``failover-otp purge``). Issue 15.9; docs/security.md §7."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import timedelta

import structlog

from failover_otp.domain.delivery_model import hour_of
from failover_otp.domain.refusals import day_of as refusal_day
from failover_otp.services.clock import Clock
from failover_otp.store.purge_store import PurgeStore
from failover_otp.store.spend_store import SpendStore
from failover_otp.store.tables import (
    access_tokens,
    audit_log,
    dashboard_sessions,
    delivery_histograms,
    idempotency_keys,
    otp_codes,
    rate_counters,
    refusal_counts,
    webhook_outbox,
)

log = structlog.get_logger(__name__)

# A counter window is kept an hour past its end, a code a day past its expiry (as the send
# path's own purges do): a late look at either still finds it.
COUNTER_GRACE = timedelta(hours=1)
CODE_GRACE = timedelta(days=1)
FINISHED_WEBHOOKS = ("delivered", "dead")
# The dashboard's longest period (services/dashboard.PERIODS), and a day of margin.
REFUSALS_KEPT = timedelta(days=91)


class Housekeeping:
    def __init__(
        self,
        store: PurgeStore,
        clock: Clock,
        *,
        flow_retention_days: int = 0,
        webhook_retention_days: int = 7,
        audit_retention_days: int = 400,
        interval_seconds: float = 300.0,
        delivery_window_hours: int = 168,
    ) -> None:
        self.store = store
        self.clock = clock
        self.flow_retention = timedelta(days=flow_retention_days)
        self.webhook_retention = timedelta(days=webhook_retention_days)
        self.audit_retention = timedelta(days=audit_retention_days)
        self.interval_seconds = interval_seconds
        self.delivery_window = timedelta(hours=delivery_window_hours)

    async def purge(self) -> dict[str, int]:
        """Delete, in batches: expired access tokens, dashboard sessions and idempotency keys,
        old counter windows and codes, finished webhook events past their retention, audit
        entries and flows past theirs (when set); and the spend cap's old rows. The number
        deleted of each (for the spend cap: reservations released)."""
        now = self.clock.now()
        delete = self.store.delete_where
        done = {
            "access_tokens": await delete(access_tokens, access_tokens.c.expires_at <= now),
            "dashboard_sessions": await delete(
                dashboard_sessions, dashboard_sessions.c.expires_at <= now
            ),
            "idempotency_keys": await delete(
                idempotency_keys, idempotency_keys.c.expires_at <= now
            ),
            "rate_counters": await delete(
                rate_counters, rate_counters.c.expires_at < now - COUNTER_GRACE
            ),
            "otp_codes": await delete(otp_codes, otp_codes.c.expires_at < now - CODE_GRACE),
            "webhook_events": await delete(
                webhook_outbox,
                webhook_outbox.c.status.in_(FINISHED_WEBHOOKS)
                & (webhook_outbox.c.created_at < now - self.webhook_retention),
            ),
            "audit_entries": 0,
            "flows": 0,
        }
        # Refusal counters feed the dashboard's periods (90 days at most): a day past them goes.
        done["refusal_counts"] = await delete(
            refusal_counts, refusal_counts.c.day < refusal_day(now - REFUSALS_KEPT)
        )
        # The delivery model's hours that slid out of its window (docs/adaptive-failover.md).
        done["delivery_histograms"] = await delete(
            delivery_histograms,
            delivery_histograms.c.hour < hour_of(now - self.delivery_window),
        )
        # The spend cap's own clean-up: reservations of flows never created are released,
        # settled ones and day rows older than three days go (store/spend_store.py).
        done["spend_released"] = await SpendStore(self.store.db).purge(now)
        if self.audit_retention:
            done["audit_entries"] = await delete(
                audit_log, audit_log.c.at < now - self.audit_retention
            )
        if self.flow_retention:
            done["flows"] = await self.store.flows_created_before(now - self.flow_retention)
        return done

    async def run(self, stop: asyncio.Event) -> None:
        """Purge every ``interval_seconds`` until ``stop`` is set (never if it is 0)."""
        if not self.interval_seconds:
            return
        # Processes started together spread their first purge over the interval.
        delay = random.uniform(0.1, 1.0) * self.interval_seconds
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
                return
            delay = self.interval_seconds
            try:
                done = await self.purge()
            except Exception as exc:  # the next round tries again; sends are unaffected
                log.warning("purge failed", error=str(exc))
                continue
            if any(done.values()):
                log.info("purged", **{k: v for k, v in done.items() if v})
