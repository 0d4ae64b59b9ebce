"""The dashboard's daily rollups on a real database (SQLite and PostgreSQL): what the saves keep
equals what the backfill computes from the flows themselves, through every kind of change a
flow goes through (ends, is corrected after its end, is re-opened, has its code verified before
or after its end); and a read over any range equals counting its flows one by one."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from failover_otp.domain.flow import Flow, FlowKind, Role, Step, StepPlan
from failover_otp.domain.records import FlowMeta
from failover_otp.domain.rollups import Rollup
from failover_otp.domain.statuses import DEFAULT_FAILOVER_ON, Channel, FlowStatus, StepStatus
from failover_otp.store.database import Database
from failover_otp.store.flow_store import FlowStore
from failover_otp.store.migrate import upgrade
from failover_otp.store.rollup_sql import rebuild_statements
from failover_otp.store.rollup_store import RollupStore, count_verified
from failover_otp.store.tables import flow_rollups, flows, latency_rollups, step_rollups

pytestmark = pytest.mark.asyncio(loop_scope="session")

APP = "app-rollups"
START = datetime(2026, 5, 10, 22, 30, tzinfo=UTC)
V, M = Channel.VIBER, Channel.SMS


def _step(index: int, channel: Channel, at: datetime, phone: str) -> Step:
    return Step(
        index=index,
        tracking_id=str(uuid.uuid4()),
        role=Role.PRIMARY if index == 0 else Role.FAILOVER,
        channel=channel,
        to=phone,
        status=StepStatus.QUEUED,
        created_at=at,
        updated_at=at,
        sent_at=at,
        country="GR" if channel is V else "CY",
    )


def _new_flow(n: int, kind: FlowKind = FlowKind.OTP) -> tuple[Flow, FlowMeta]:
    created = START + timedelta(hours=n)
    phone = f"3069123456{n:02d}"
    flow = Flow(
        id=str(uuid.uuid4()),
        application_id=APP,
        kind=kind,
        plans=(
            StepPlan(V, phone, 60.0, DEFAULT_FAILOVER_ON[V]),
            StepPlan(M, phone, 60.0, DEFAULT_FAILOVER_ON[M]),
        ),
        created_at=created,
        updated_at=created,
        steps=(_step(0, V, created, phone),),
    )
    return flow, FlowMeta(request=[{"type": "ViberOtp"}, {"type": "Sms"}], phone=phone)


def _with(flow: Flow, index: int, status: StepStatus, **changes: Any) -> Flow:
    step = replace(flow.steps[index], status=status, **changes)
    return replace(flow.with_step(step), version=flow.version)


async def _save(store: FlowStore, old: Flow, new: Flow, meta: FlowMeta) -> Flow:
    assert await store.save(old, new, meta)
    return replace(new, version=old.version + 1)


async def _tables(db: Database) -> dict[str, set[tuple[Any, ...]]]:
    found = {}
    async with db.read() as conn:
        for table in (flow_rollups, step_rollups, latency_rollups):
            rows = (await conn.execute(select(table))).all()
            # Zero rows are what a correction leaves behind; money to the cent's hundredth.
            found[table.name] = {
                tuple(round(v, 4) if isinstance(v, float) else v for v in row)
                for row in rows
                if any(v for v in row[4:] if not isinstance(v, str))
            }
    return found


async def test_the_saves_keep_what_the_backfill_computes(database_url: str) -> None:
    await upgrade(database_url)
    db = Database(database_url)
    store = FlowStore(db)
    try:
        # 1. Delivered on Viber: ends (Succeeded), then a late "seen" corrects its step.
        one, meta1 = _new_flow(0)
        await store.create(one, meta1)
        at = one.created_at + timedelta(seconds=2)
        ended = replace(
            _with(one, 0, StepStatus.DELIVERED, delivered_at=at, price=0.0093),
            status=FlowStatus.SUCCEEDED,
        )
        one = await _save(store, one, ended, meta1)
        one = await _save(store, one, _with(one, 0, StepStatus.SEEN), meta1)
        # Its code is verified after its end.
        async with db.write() as conn:
            await conn.execute(update(flows).where(flows.c.id == one.id).values(verified_at=at))
            await count_verified(conn, one.id)

        # 2. Viber expires, SMS sent: Succeeded on "Sent", then Undelivered re-opens it
        #    (back in progress) and it ends Failed; verified while still in progress.
        two, meta2 = _new_flow(1)
        await store.create(two, meta2)
        async with db.write() as conn:
            await conn.execute(
                update(flows).where(flows.c.id == two.id).values(verified_at=two.created_at)
            )
            await count_verified(conn, two.id)
        sms_at = two.created_at + timedelta(minutes=1)
        failover = _with(two, 0, StepStatus.EXPIRED, price=0.0093).with_step(
            replace(_step(1, M, sms_at, meta2.phone), status=StepStatus.SENT, price=0.0375)
        )
        two = await _save(store, two, replace(failover, status=FlowStatus.SUCCEEDED), meta2)
        reopened = replace(_with(two, 1, StepStatus.UNDELIVERED), status=FlowStatus.IN_PROGRESS)
        two = await _save(store, two, reopened, meta2)
        two = await _save(store, two, replace(two, status=FlowStatus.FAILED), meta2)

        # 3. Still waiting (never in the stored rollups); 4. a standard flow that failed.
        three, meta3 = _new_flow(2)
        await store.create(three, meta3)
        four, meta4 = _new_flow(3, FlowKind.STANDARD)
        await store.create(four, meta4)
        four = await _save(
            store,
            four,
            replace(_with(four, 0, StepStatus.FAILED), status=FlowStatus.FAILED),
            meta4,
        )

        kept = await _tables(db)
        assert kept["flow_rollups"], "the finished flows are counted"
        async with db.write() as conn:
            for statement in rebuild_statements(conn.dialect.name):
                await conn.execute(statement)
        assert await _tables(db) == kept

        # A read over any range equals counting its flows one by one: whole days from the
        # rollups plus the unfinished flow, or partial days counted flow by flow.
        rollups = RollupStore(db)
        midnight = START.replace(hour=0, minute=30) - timedelta(minutes=30)
        aligned = await rollups.read(APP, midnight, midnight + timedelta(days=2))
        counted = Rollup()
        async with db.scan() as conn:
            await rollups._count(conn, counted, APP, midnight, midnight + timedelta(days=2))
        assert _rounded(aligned) == _rounded(counted)
        ragged = await rollups.read(APP, START, START + timedelta(hours=3, minutes=30))
        assert _rounded(ragged).flows.keys() == _rounded(counted).flows.keys()
        assert sum(v[0] for v in ragged.flows.values()) == 4
        verified = sum(v[2] for v in aligned.flows.values())
        assert verified == 2
    finally:
        await db.dispose()


def _rounded(rollup: Rollup) -> Rollup:
    """Without the keys whose counters are all zero, money to the millionth."""
    result = Rollup().add(rollup).minus(Rollup())
    result.flows = {k: [round(v, 6) for v in vs] for k, vs in result.flows.items()}
    result.steps = {k: [round(v, 6) for v in vs] for k, vs in result.steps.items()}
    return result
