"""The dashboard's read model over a real database (SQLite and PostgreSQL): every aggregate the
charts draw, against numbers worked out by hand (the flows table is one of the listings:
contract/test_listings_contract.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from tests.support.dashboard_flows import (
    APP,
    DAY1,
    SINCE,
    SMS_PRICE,
    UNTIL,
    VIBER_PRICE,
    S,
    V,
    dashboard_flow,
    dashboard_flows,
)

from failover_otp.domain.statuses import FlowStatus, StepStatus
from failover_otp.store.database import Database
from failover_otp.store.flow_store import FlowStore
from failover_otp.store.migrate import upgrade
from failover_otp.store.rollup_store import count_verified
from failover_otp.store.stats_store import StatsStore
from failover_otp.store.tables import flows

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def stats(database_url: str) -> AsyncIterator[tuple[StatsStore, dict[str, str]]]:
    await upgrade(database_url)
    db = Database(database_url)
    flows = dashboard_flows()
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
        flow, meta = dashboard_flow(
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
