"""The dashboard's read model over a real database (SQLite and PostgreSQL): the flow list with
its filters, and every aggregate the charts draw, against numbers worked out by hand."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from failover_otp.domain.flow import Flow, FlowKind, Role, Step, StepPlan
from failover_otp.domain.records import FlowMeta
from failover_otp.domain.statuses import DEFAULT_FAILOVER_ON, Channel, FlowStatus, StepStatus
from failover_otp.store.database import Database
from failover_otp.store.flow_store import FlowStore
from failover_otp.store.flow_table import Cursor, FlowTable, TableFilter
from failover_otp.store.migrate import upgrade
from failover_otp.store.rollup_store import count_verified
from failover_otp.store.stats_store import StatsStore
from failover_otp.store.tables import flows

pytestmark = pytest.mark.asyncio(loop_scope="session")

APP, OTHER = "app-stats", "app-other"
DAY1 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SINCE, UNTIL = datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)


@dataclass(frozen=True)
class S:
    """A step: channel, status, seconds from send to delivery (None: not delivered), price."""

    channel: Channel
    status: StepStatus
    delivered_after: float | None = None
    price: float | None = None
    country: str | None = "GR"
    parts: int = 1


def _flow(
    app: str,
    created: datetime,
    specs: list[S],
    status: FlowStatus,
    *,
    phone: str = "306912345671",
    label: str | None = "login",
) -> tuple[Flow, FlowMeta]:
    steps = []
    for i, s in enumerate(specs):
        at = created + timedelta(seconds=10 * i)
        sent = at if s.price is not None else None
        delivered = at + timedelta(seconds=s.delivered_after) if s.delivered_after else None
        steps.append(
            Step(
                index=i,
                tracking_id=str(uuid.uuid4()),
                role=Role.PRIMARY if i == 0 else Role.FAILOVER,
                channel=s.channel,
                to=phone,
                status=s.status,
                created_at=at,
                updated_at=delivered or at,
                sent_at=sent,
                delivered_at=delivered,
                price=s.price,
                parts=s.parts,
                country=s.country,
            )
        )
    flow = Flow(
        id=str(uuid.uuid4()),
        application_id=app,
        kind=FlowKind.OTP,
        plans=tuple(
            StepPlan(s.channel, phone, 60.0, DEFAULT_FAILOVER_ON[s.channel]) for s in specs
        ),
        created_at=created,
        updated_at=created,
        status=status,
        steps=tuple(steps),
    )
    request = [{"type": s.channel.type_name, "order": i + 1} for i, s in enumerate(specs)]
    return flow, FlowMeta(request=request, phone=phone, label=label)


V, M = Channel.VIBER, Channel.SMS
VIBER_PRICE, SMS_PRICE = 0.0093, 0.0375


@pytest.fixture
async def stats(database_url: str) -> AsyncIterator[tuple[StatsStore, dict[str, str]]]:
    await upgrade(database_url)
    db = Database(database_url)
    flows = {
        # Day 1: Viber delivered in 1 s; Viber delivered in 3 s; Viber expired, SMS in 2 s.
        "seen": _flow(APP, DAY1, [S(V, StepStatus.SEEN, 1, VIBER_PRICE)], FlowStatus.SUCCEEDED),
        "delivered": _flow(
            APP,
            DAY1 + timedelta(minutes=1),
            [S(V, StepStatus.DELIVERED, 3, VIBER_PRICE)],
            FlowStatus.SUCCEEDED,
            phone="306912345670",
            label="payment",
        ),
        "failover": _flow(
            APP,
            DAY1 + timedelta(minutes=2),
            [S(V, StepStatus.EXPIRED, None, VIBER_PRICE), S(M, StepStatus.DELIVERED, 2, SMS_PRICE)],
            FlowStatus.SUCCEEDED,
        ),
        # Day 2: refused Viber, two-part SMS failed (Cyprus); a Viber still waiting.
        "failed": _flow(
            APP,
            DAY2,
            [S(V, StepStatus.FAILED), S(M, StepStatus.FAILED, None, 2 * SMS_PRICE, "CY", parts=2)],
            FlowStatus.FAILED,
            phone="35799123456",
            label=None,
        ),
        "waiting": _flow(
            APP, DAY2 + timedelta(minutes=5), [S(V, StepStatus.QUEUED)], FlowStatus.IN_PROGRESS
        ),
        # Out of range, and another application's: never counted.
        "old": _flow(
            APP, SINCE - timedelta(days=3), [S(V, StepStatus.SEEN, 1, 1.0)], FlowStatus.SUCCEEDED
        ),
        "other": _flow(OTHER, DAY1, [S(V, StepStatus.SEEN, 9, 5.0)], FlowStatus.SUCCEEDED),
    }
    store = FlowStore(db)
    for flow, meta in flows.values():
        await store.create(flow, meta)
    yield StatsStore(db), {name: flow.id for name, (flow, _) in flows.items()}
    await db.dispose()


async def test_channel_delivery_counts_outcomes_per_channel(
    stats: tuple[StatsStore, dict[str, str]],
) -> None:
    store, _ = stats
    rows = {r.channel: r for r in await store.channel_delivery(APP, SINCE, UNTIL)}
    assert set(rows) == {"viber", "sms"}
    viber, sms = rows["viber"], rows["sms"]
    assert (viber.steps, viber.delivered, viber.failed, viber.pending) == (5, 2, 2, 1)
    assert (sms.steps, sms.delivered, sms.failed, sms.pending) == (2, 1, 1, 0)


async def test_flows_per_day_outcomes_failovers_costs_and_sms_parts(
    stats: tuple[StatsStore, dict[str, str]],
) -> None:
    store, _ = stats
    days = await store.flows_per_day(APP, SINCE, UNTIL)
    assert [d.day for d in days] == ["2026-03-01", "2026-03-02"]
    one, two = days
    assert (one.flows, one.succeeded, one.failed, one.in_progress, one.failovers) == (3, 3, 0, 0, 1)
    assert one.cost == pytest.approx(3 * VIBER_PRICE + SMS_PRICE)
    # SMS-only: one part per flow, unless its SMS step had more (the two-part one on day 2).
    assert one.sms_parts == 3
    assert (two.flows, two.succeeded, two.failed, two.in_progress, two.failovers) == (2, 0, 1, 1, 1)
    assert two.sms_parts == 2 + 1
    assert two.cost == pytest.approx(2 * SMS_PRICE)


async def test_cost_per_day_and_channel(stats: tuple[StatsStore, dict[str, str]]) -> None:
    store, _ = stats
    costs = {(c.day, c.channel): c for c in await store.cost_per_day(APP, SINCE, UNTIL)}
    assert set(costs) == {("2026-03-01", "viber"), ("2026-03-01", "sms"), ("2026-03-02", "sms")}
    assert costs["2026-03-01", "viber"].cost == pytest.approx(3 * VIBER_PRICE)
    assert costs["2026-03-01", "viber"].messages == 3
    assert costs["2026-03-02", "sms"].cost == pytest.approx(2 * SMS_PRICE)


async def test_median_time_to_deliver_per_channel_and_country(
    stats: tuple[StatsStore, dict[str, str]],
) -> None:
    store, _ = stats
    by_country = await store.delivery_latency(APP, SINCE, UNTIL)
    found = {(r.channel, r.country): (r.median_seconds, r.samples) for r in by_country}
    # Viber: 1 s and 3 s → the median of an even count is the mean of the middle two. Medians
    # are read off the rollups' latency buckets: within 3.5 % (domain/rollups.py).
    assert {k: samples for k, (_, samples) in found.items()} == {
        ("sms", "GR"): 1,
        ("viber", "GR"): 2,
    }
    assert [median for median, _ in found.values()] == pytest.approx([2.0, 2.0], rel=0.035)
    overall = await store.delivery_latency(APP, SINCE, UNTIL, by_country=False)
    assert {(r.channel, r.country): r.samples for r in overall} == {
        ("sms", ""): 1,
        ("viber", ""): 2,
    }


async def test_median_of_an_odd_count_is_the_middle_value(database_url: str) -> None:
    await upgrade(database_url)
    db = Database(database_url)
    store = FlowStore(db)
    for minute, seconds in enumerate([5.0, 1.0, 30.0]):
        flow, meta = _flow(
            "app-odd",
            DAY1 + timedelta(minutes=minute),
            [S(V, StepStatus.DELIVERED, seconds, VIBER_PRICE)],
            FlowStatus.SUCCEEDED,
        )
        await store.create(flow, meta)
    [row] = await StatsStore(db).delivery_latency("app-odd", SINCE, UNTIL)
    await db.dispose()
    assert row.median_seconds == pytest.approx(5.0, rel=0.035)
    assert row.samples == 3


async def _names(store: FlowTable, ids: dict[str, str], **filters: Any) -> list[str]:
    page = await store.page(TableFilter(application_id=APP, **filters), size=50)
    by_id = {v: k for k, v in ids.items()}
    result = [by_id[r.flow.id] for r in page.records]
    assert page.total == len(result)
    assert page.newer is None
    assert page.older is None
    return result


@pytest.mark.parametrize("few_steps", [20_000, 0], ids=["through-the-index", "flow-by-flow"])
async def test_table_filters(stats: tuple[StatsStore, dict[str, str]], few_steps: int) -> None:
    """Both SQLite shapes of a step-status filter find the same flows (few matching steps are
    found through the status index, many by testing each flow's own steps)."""
    store, ids = stats
    table = FlowTable(store.db, few_steps=few_steps)
    assert await _names(table, ids) == ["waiting", "failed", "failover", "delivered", "seen", "old"]
    assert await _names(table, ids, flow_status="Failed") == ["failed"]
    assert await _names(table, ids, step_status="EXPIRED") == ["failover"]
    assert await _names(table, ids, tag="PAY") == ["delivered"]
    assert await _names(table, ids, phone="357") == ["failed"]
    assert await _names(table, ids, flow_id=ids["seen"]) == ["seen"]
    # The 8 characters the table shows find the flow (upper case too).
    assert await _names(table, ids, flow_id=ids["seen"][:8].upper()) == ["seen"]
    assert await _names(table, ids, flow_id=ids["other"]) == []  # another application's flow
    # A date range: creation days, the end day included.
    day2 = datetime(2026, 3, 2, tzinfo=UTC)
    assert await _names(table, ids, created_from=day2) == ["waiting", "failed"]
    assert await _names(table, ids, created_to=day2) == ["failover", "delivered", "seen", "old"]


async def test_table_pages_by_keyset_both_ways_and_from_a_date(
    stats: tuple[StatsStore, dict[str, str]],
) -> None:
    store, ids = stats
    table = FlowTable(store.db)
    everyone = TableFilter(application_id=APP)
    first = await table.page(everyone, size=2)
    assert first.total == 6
    assert [r.flow.id for r in first.records] == [ids["waiting"], ids["failed"]]
    assert first.newer is None
    assert first.older is not None
    second = await table.page(everyone, size=2, older_than=first.older)
    assert [r.flow.id for r in second.records] == [ids["failover"], ids["delivered"]]
    assert [s.channel for s in second.records[0].flow.steps] == [V, M]
    assert second.newer is not None
    assert second.older is not None
    back = await table.page(everyone, size=2, newer_than=second.newer)
    assert [r.flow.id for r in back.records] == [ids["waiting"], ids["failed"]]
    assert back.newer is None
    assert back.older is not None
    last = await table.page(everyone, size=2, older_than=second.older)
    assert [r.flow.id for r in last.records] == [ids["seen"], ids["old"]]
    assert last.older is None
    assert last.newer is not None
    # Jump to day 1: its newest flow first.
    at_day1 = Cursor(datetime(2026, 3, 2, tzinfo=UTC))
    jumped = await table.page(everyone, size=2, older_than=at_day1)
    assert [r.flow.id for r in jumped.records] == [ids["failover"], ids["delivered"]]
    assert jumped.newer is not None
    # A cursor survives its text form.
    assert Cursor.decode(second.older.encode()) == second.older
    # A tracking id's prefix finds its flow too.
    step_id = second.records[0].flow.steps[1].tracking_id
    assert await _names(table, ids, flow_id=step_id[:10]) == ["failover"]


async def test_table_counts_up_to_its_limit_and_exports_every_match(
    stats: tuple[StatsStore, dict[str, str]],
) -> None:
    store, ids = stats
    table = FlowTable(store.db, count_limit=3)
    page = await table.page(TableFilter(application_id=APP), size=2)
    assert page.total == 4  # "more than 3"
    batches = [b async for b in table.batches(TableFilter(application_id=APP), size=4)]
    assert [len(b) for b in batches] == [4, 2]
    assert [r.flow.id for b in batches for r in b][-1] == ids["old"]


async def test_conversion_per_day_channel_and_country(
    stats: tuple[StatsStore, dict[str, str]],
) -> None:
    store, ids = stats
    # The "failover" flow's code was verified (CodeStore.mark_used sets this, see test_codes).
    async with store.db.write() as conn:
        await conn.execute(
            update(flows).where(flows.c.id == ids["failover"]).values(verified_at=DAY1)
        )
        await count_verified(conn, ids["failover"])
    rows = {
        (r.day, r.channel, r.country): (r.flows, r.verified)
        for r in await store.conversion(APP, SINCE, UNTIL)
    }
    # Each flow counts under its last step's channel and country.
    assert rows == {
        ("2026-03-01", "viber", "GR"): (2, 0),
        ("2026-03-01", "sms", "GR"): (1, 1),
        ("2026-03-02", "sms", "CY"): (1, 0),
        ("2026-03-02", "viber", "GR"): (1, 0),
    }
    checks = await store.code_checks(ids["failover"])
    assert checks is not None
    assert checks.verified_at == DAY1
    assert checks.wrong == 0
    assert await store.code_checks(ids["seen"]) is None  # no code of ours, never verified
