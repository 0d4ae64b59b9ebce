"""Housekeeping: what has expired, and flows past their retention, are deleted on a schedule
(the worker) or on demand (``failover-otp purge``). Issue 15.9; docs/security.md §7."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import timedelta

import structlog

from failover_otp.services.clock import Clock
from failover_otp.services.ports import Expiry

log = structlog.get_logger(__name__)


class Housekeeping:
    def __init__(
        self,
        store: Expiry,
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
        return await self.store.purge_expired(
            self.clock.now(),
            webhook_retention=self.webhook_retention,
            audit_retention=self.audit_retention,
            flow_retention=self.flow_retention,
            delivery_window=self.delivery_window,
        )

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
