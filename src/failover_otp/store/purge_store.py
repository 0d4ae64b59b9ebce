"""Batched deletes of what has expired or outlived its retention (issue 15.9).

Every delete takes at most ``batch`` rows per transaction, chosen by primary key, so a purge
never holds SQLite's write lock or PostgreSQL's row locks for long: sends and the workers write
between two batches. Deletes are idempotent, so purges in several processes at once only share
the work.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table, delete, select, tuple_

from failover_otp.domain.delivery_model import hour_of
from failover_otp.domain.outbox import DEAD, DELIVERED
from failover_otp.domain.refusals import day_of as refusal_day
from failover_otp.store.database import Database
from failover_otp.store.spend_store import SpendStore
from failover_otp.store.tables import (
    access_tokens,
    applications,
    audit_log,
    dashboard_sessions,
    deadlines,
    delivery_histograms,
    flow_rollups,
    flows,
    idempotency_keys,
    latency_rollups,
    otp_codes,
    rate_counters,
    refusal_counts,
    step_rollups,
    steps,
    webhook_outbox,
)

# Rows that belong to a flow and go with it (foreign keys first).
FLOW_CHILDREN: tuple[Table, ...] = (steps, deadlines, otp_codes, webhook_outbox)
# A counter window is kept an hour past its end, a code a day past its expiry (as the send
# path's own purges do): a late look at either still finds it.
COUNTER_GRACE = timedelta(hours=1)
CODE_GRACE = timedelta(days=1)
FINISHED_WEBHOOKS = (DELIVERED, DEAD)
# The dashboard's longest period (services/dashboard.PERIODS), and a day of margin.
REFUSALS_KEPT = timedelta(days=91)


class PurgeStore:
    def __init__(self, db: Database, *, batch: int = 100) -> None:
        self.db = db
        self.batch = batch

    async def purge_expired(
        self,
        now: datetime,
        *,
        webhook_retention: timedelta,
        audit_retention: timedelta,
        flow_retention: timedelta,
        delivery_window: timedelta,
    ) -> dict[str, int]:
        """Delete, in batches: expired access tokens, dashboard sessions and idempotency keys,
        old counter windows and codes, finished webhook events past their retention, audit
        entries and flows past theirs (when set); and the spend cap's old rows. The number
        deleted of each (for the spend cap: reservations released)."""
        delete = self.delete_where
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
                & (webhook_outbox.c.created_at < now - webhook_retention),
            ),
            "audit_entries": 0,
            "flows": 0,
            "daily_rollups": 0,
        }
        # Refusal counters feed the dashboard's periods (90 days at most): a day past them goes.
        done["refusal_counts"] = await delete(
            refusal_counts, refusal_counts.c.day < refusal_day(now - REFUSALS_KEPT)
        )
        # The delivery model's hours that slid out of its window (docs/adaptive-failover.md).
        done["delivery_histograms"] = await delete(
            delivery_histograms, delivery_histograms.c.hour < hour_of(now - delivery_window)
        )
        # The spend cap's own clean-up: reservations of flows never created are released,
        # settled ones and day rows older than three days go (store/spend_store.py).
        done["spend_released"] = await SpendStore(self.db).purge(now)
        if audit_retention:
            done["audit_entries"] = await delete(audit_log, audit_log.c.at < now - audit_retention)
        if flow_retention:
            done["flows"] = await self.flows_created_before(now - flow_retention)
            # The charts count only the flows that remain: their days' rollups go with them.
            first_kept = refusal_day(now - flow_retention)
            for table in (flow_rollups, step_rollups, latency_rollups):
                done["daily_rollups"] += await delete(table, table.c.day < first_kept)
        return done

    async def delete_where(self, table: Table, where: ColumnElement[bool]) -> int:
        """Delete every row of ``table`` matching ``where``, ``batch`` rows a transaction."""
        key = list(table.primary_key.columns)
        chosen = select(*key).where(where).limit(self.batch)
        match = key[0].in_(chosen) if len(key) == 1 else tuple_(*key).in_(chosen)
        total = 0
        while True:
            async with self.db.write() as conn:
                deleted = int((await conn.execute(delete(table).where(match))).rowcount)
            total += deleted
            if deleted < self.batch:
                return total
            await asyncio.sleep(0)  # let waiting writers in between two batches

    async def flows_created_before(self, before: datetime) -> int:
        """Delete flows created before ``before`` with their steps, timer, code and webhook
        events; application by application, so each batch is read from the index on
        (application_id, created_at)."""
        async with self.db.read() as conn:
            app_ids = (await conn.execute(select(applications.c.id))).scalars().all()
        total = 0
        for app_id in app_ids:
            chosen = (
                select(flows.c.id)
                .where(flows.c.application_id == app_id, flows.c.created_at < before)
                .order_by(flows.c.created_at)
                .limit(self.batch)
            )
            while True:
                async with self.db.write() as conn:
                    ids = list((await conn.execute(chosen)).scalars().all())
                    if ids:
                        for child in FLOW_CHILDREN:
                            await conn.execute(delete(child).where(child.c.flow_id.in_(ids)))
                        await conn.execute(delete(flows).where(flows.c.id.in_(ids)))
                total += len(ids)
                if len(ids) < self.batch:
                    break
                await asyncio.sleep(0)
        return total
