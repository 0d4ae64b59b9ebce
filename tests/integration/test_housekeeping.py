"""Issue 15.9: nothing grows without bound. Expired tokens, sessions and idempotency keys,
finished webhook events and flows past their retention are deleted, in batches, by the worker
on a schedule and by ``failover-otp purge``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select
from tests.support.security_stack import Stack, otp_body, security_stack
from tests.support.waiting import wait_until_async

from failover_otp.domain.accounts import Application
from failover_otp.domain.delivery_model import ModelKey, Observation
from failover_otp.domain.statuses import Channel
from failover_otp.services.housekeeping import Housekeeping
from failover_otp.store.database import Database
from failover_otp.store.delivery_store import DeliveryStore
from failover_otp.store.purge_store import PurgeStore
from failover_otp.store.refusal_store import RefusalStore
from failover_otp.store.tables import (
    access_tokens,
    audit_log,
    dashboard_sessions,
    deadlines,
    delivery_histograms,
    flows,
    idempotency_keys,
    otp_codes,
    refusal_counts,
    steps,
    webhook_outbox,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

DAY = timedelta(days=1)


async def count(db: Database, table: Any) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def add_application(stack: Stack, app_id: str = "app-1") -> None:
    await stack.apps.create(Application(app_id, "shop", "x" * 64, stack.clock.now()))


async def add_expiring_rows(db: Database, now: datetime, prefix: str) -> None:
    """One row of each kind that expired an hour ago, one that expires in an hour."""
    async with db.write() as conn:
        for name, when in (("old", now - timedelta(hours=1)), ("new", now + timedelta(hours=1))):
            key = f"{prefix}-{name}"
            await conn.execute(
                insert(access_tokens).values(
                    token_hash=key, application_id="app-1", expires_at=when
                )
            )
            await conn.execute(
                insert(dashboard_sessions).values(
                    token_hash=key, application_id="app-1", created_at=now, expires_at=when
                )
            )
            await conn.execute(
                insert(idempotency_keys).values(
                    application_id="app-1",
                    key=key,
                    endpoint="otp",
                    fingerprint="f" * 64,
                    state="done",
                    created_at=now - DAY,
                    lease_until=now - DAY,
                    expires_at=when,
                )
            )


async def add_webhook_event(db: Database, seq_id: str, status: str, created_at: datetime) -> None:
    async with db.write() as conn:
        await conn.execute(
            insert(webhook_outbox).values(
                event_id=seq_id,
                flow_id=f"flow-{seq_id}",
                application_id="app-1",
                url="https://example.invalid/hook",
                body="{}",
                status=status,
                attempts=1,
                next_attempt_at=created_at,
                created_at=created_at,
            )
        )


def housekeeping(stack: Stack, **options: Any) -> Housekeeping:
    batch = options.pop("batch", 500)
    return Housekeeping(PurgeStore(stack.db, batch=batch), stack.clock, **options)


async def test_purge_deletes_what_expired_and_keeps_the_rest(database_url: str) -> None:
    async with security_stack(database_url) as stack:
        await add_application(stack)
        now = stack.clock.now()
        await add_expiring_rows(stack.db, now, "k")
        await add_webhook_event(stack.db, "delivered-old", "delivered", now - 8 * DAY)
        await add_webhook_event(stack.db, "dead-old", "dead", now - 8 * DAY)
        await add_webhook_event(stack.db, "delivered-recent", "delivered", now - 6 * DAY)
        await add_webhook_event(stack.db, "pending-old", "pending", now - 8 * DAY)
        refusals = RefusalStore(stack.db)
        for at in (now - 92 * DAY, now - 90 * DAY):
            await refusals.record("app-1", "rate_limited:number_per_day", at)
        # The delivery model's hours: one slid out of the 7-day window, one is inside it.
        await DeliveryStore(stack.db).record(
            [
                Observation(ModelKey(Channel.VIBER, "GR", "Cosmote"), 2, True, at)
                for at in (now - 8 * DAY, now - 6 * DAY)
            ]
        )
        async with stack.db.write() as conn:
            for at in (now - 401 * DAY, now - 399 * DAY):
                await conn.execute(insert(audit_log).values(at=at, actor="cli:x", action="a"))

        done = await housekeeping(stack).purge()

        assert done == {
            "access_tokens": 1,
            "dashboard_sessions": 1,
            "idempotency_keys": 1,
            "rate_counters": 0,
            "otp_codes": 0,
            "webhook_events": 2,
            "spend_released": 0,
            "refusal_counts": 1,
            "delivery_histograms": 1,
            "audit_entries": 1,
            "flows": 0,
            "daily_rollups": 0,
        }
        for table in (
            delivery_histograms,
            access_tokens,
            dashboard_sessions,
            idempotency_keys,
            audit_log,
            refusal_counts,
        ):
            assert await count(stack.db, table) == 1
        async with stack.db.read() as conn:
            left = (await conn.execute(select(webhook_outbox.c.event_id))).scalars().all()
        assert sorted(left) == ["delivered-recent", "pending-old"]
        # A second run finds nothing more.
        assert not any((await housekeeping(stack).purge()).values())


async def test_flows_past_their_retention_go_with_everything_of_theirs(database_url: str) -> None:
    async with security_stack(database_url) as stack:
        await add_application(stack)
        old = [(await stack.send_otp(otp_body(f"+30691234567{i}")))[0].flow.id for i in range(5)]
        async with stack.db.write() as conn:  # a webhook event of an old flow
            await conn.execute(
                insert(webhook_outbox).values(
                    event_id="e1",
                    flow_id=old[0],
                    application_id="app-1",
                    url="https://example.invalid/hook",
                    body="{}",
                    status="pending",
                    attempts=0,
                    next_attempt_at=stack.clock.now(),
                    created_at=stack.clock.now(),
                )
            )
        stack.clock.advance(3 * 86_400)
        recent, _ = await stack.send_otp(otp_body("+306912345679"))
        stack.clock.advance(3600)
        assert await count(stack.db, deadlines) >= 6  # the old flows still wait for something

        commits: list[int] = []
        engine = stack.db.writer.sync_engine
        listener = lambda _conn: commits.append(1)  # noqa: E731
        event.listen(engine, "commit", listener)
        try:
            done = await housekeeping(stack, flow_retention_days=2, batch=2).purge()
        finally:
            event.remove(engine, "commit", listener)

        assert done["flows"] == 5
        # Batches of 2: three transactions for five flows, none holding the lock for all.
        assert len(commits) >= 3
        async with stack.db.read() as conn:
            assert (await conn.execute(select(flows.c.id))).scalars().all() == [recent.flow.id]
            for table in (steps, deadlines, otp_codes, webhook_outbox):
                ids = set((await conn.execute(select(table.c.flow_id))).scalars().all())
                assert ids <= {recent.flow.id}, table.name
        assert await stack.flows.read("app-1", old[0]) is None
        assert await stack.flows.read("app-1", recent.flow.id) is not None


async def test_flows_are_kept_forever_by_default(database_url: str) -> None:
    async with security_stack(database_url) as stack:
        await add_application(stack)
        await stack.send_otp(otp_body())
        stack.clock.advance(3650 * 86_400)
        assert (await housekeeping(stack).purge())["flows"] == 0
        assert await count(stack.db, flows) == 1


async def test_the_worker_purges_on_its_schedule(database_url: str) -> None:
    async with security_stack(database_url) as stack:
        await add_application(stack)
        await add_expiring_rows(stack.db, datetime.now(UTC), "w")
        worker = Housekeeping(PurgeStore(stack.db), _RealClock(), interval_seconds=0.05)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:

            async def purged() -> bool:
                return await count(stack.db, access_tokens) == 1

            await wait_until_async(purged, what="the scheduled purge")
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
        assert await count(stack.db, dashboard_sessions) == 1
        assert await count(stack.db, idempotency_keys) == 1


async def test_an_interval_of_zero_never_purges(database_url: str) -> None:
    async with security_stack(database_url) as stack:
        stop = asyncio.Event()
        worker = Housekeeping(PurgeStore(stack.db), _RealClock(), interval_seconds=0)
        await asyncio.wait_for(worker.run(stop), 5)  # returns at once, stop never set


class _RealClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def test_serve_runs_the_purge_with_its_workers(database_url: str) -> None:
    """The housekeeping loop is one of the worker loops `serve` (and `worker`) start."""
    from failover_otp.settings import Settings
    from failover_otp.web.app import create_app

    async with security_stack(database_url) as stack:
        await add_application(stack)
        await add_expiring_rows(stack.db, datetime.now(UTC), "s")
        settings = Settings(database_url=database_url, purge_interval_seconds=0.05)
        app = create_app(settings)
        async with app.router.lifespan_context(app):

            async def purged() -> bool:
                return await count(stack.db, access_tokens) == 1

            await wait_until_async(purged, what="the purge of serve's worker loop")
        assert await count(stack.db, dashboard_sessions) == 1
