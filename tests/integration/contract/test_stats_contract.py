"""Statistics: the dashboard's aggregates, the same on every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from tests.support.stats_seed import (
    APP,
    DAY1,
    SINCE,
    SMS_PRICE,
    UNTIL,
    VIBER_PRICE,
    S,
    V,
    flow_of,
    seed,
)
from tests.support.stored_records import T0, an_application, decided, new_flow, started

from failover_otp.domain.code_records import CodeRow
from failover_otp.domain.events import SendAccepted, StatusReported
from failover_otp.domain.records import FlowRecord
from failover_otp.domain.stats import ChannelDelivery, CodeChecks, DayFlows
from failover_otp.domain.statuses import FlowStatus, StepStatus
from failover_otp.services.storage import Storage

pytestmark = pytest.mark.asyncio(loop_scope="session")
WEEK = (T0 - timedelta(days=3), T0 + timedelta(days=4))


async def a_flow(
    storage: Storage, at: timedelta, *, viber: StepStatus | None, sms: StepStatus | None = None
) -> FlowRecord:
    """An OTP flow created ``at`` after T0: its Viber step accepted (0.0093, Greece) and then
    ``viber``; failed over to SMS (0.0375, two parts) and then ``sms`` when given."""
    now = T0 + at
    record = started(new_flow(now=now), now)
    await storage.flows.create(record.flow, record.meta)
    flow = decided(
        record.flow, SendAccepted(0, f"v-{record.flow.id}", price=0.0093, country="GR"), now
    )
    if viber is not None:
        flow = decided(
            flow, StatusReported(f"v-{record.flow.id}", viber), now + timedelta(seconds=4)
        )
    if sms is not None:
        flow = decided(
            flow, SendAccepted(1, f"s-{record.flow.id}", price=0.0375, parts=2, country="GR"), now
        )
        flow = decided(
            flow, StatusReported(f"s-{record.flow.id}", sms), now + timedelta(seconds=10)
        )
    assert await storage.flows.save(record.flow, flow, record.meta)
    return replace(record, flow=replace(flow, version=2))


async def test_the_dashboards_aggregates(storage: Storage) -> None:
    await an_application(storage)
    delivered = await a_flow(storage, timedelta(0), viber=StepStatus.DELIVERED)
    failed_over = await a_flow(
        storage, timedelta(hours=1), viber=StepStatus.UNDELIVERED, sms=StepStatus.DELIVERED
    )
    await a_flow(storage, timedelta(days=1), viber=None)
    assert failed_over.flow.steps[1].role.value == "failover"

    channels = await storage.stats.channel_delivery("app-1", *WEEK)
    assert channels == [ChannelDelivery("sms", 1, 1, 0), ChannelDelivery("viber", 3, 1, 1)]
    days = await storage.stats.flows_per_day("app-1", *WEEK)
    assert [replace(d, cost=round(d.cost, 6)) for d in days] == [
        DayFlows("2026-11-24", 2, 2, 0, 0, 1, round(2 * 0.0093 + 0.0375, 6), 3),
        DayFlows("2026-11-25", 1, 0, 0, 1, 0, 0.0093, 1),
    ]
    costs = await storage.stats.cost_per_day("app-1", *WEEK)
    assert [(c.day, c.channel, round(c.cost, 6), c.messages) for c in costs] == [
        ("2026-11-24", "sms", 0.0375, 1),
        ("2026-11-24", "viber", 0.0186, 2),
        ("2026-11-25", "viber", 0.0093, 1),
    ]
    latency = await storage.stats.delivery_latency("app-1", *WEEK)
    assert [(x.channel, x.country, x.samples) for x in latency] == [
        ("sms", "GR", 1),
        ("viber", "GR", 1),
    ]
    # Within the SQL rollups' latency buckets (3.5 %, domain/rollups.py).
    assert [x.median_seconds for x in latency] == pytest.approx([10.0, 4.0], rel=0.035)
    overall = await storage.stats.delivery_latency("app-1", *WEEK, by_country=False)
    assert [(x.channel, x.country) for x in overall] == [("sms", ""), ("viber", "")]
    # Another application, and another week, see none of it.
    assert await storage.stats.channel_delivery("app-2", *WEEK) == []
    later = (T0 + timedelta(days=7), T0 + timedelta(days=14))
    assert await storage.stats.flows_per_day("app-1", *later) == []

    # One code verified on its second attempt: conversion and code checks.
    assert await storage.stats.code_checks(delivered.flow.id) is None
    await storage.codes.put(
        CodeRow(delivered.flow.id, "app-1", "3069", "h", None, T0, WEEK[1], 2, 5)
    )
    assert await storage.stats.code_checks(delivered.flow.id) == CodeChecks(2, None)
    verified_at = T0 + timedelta(seconds=30)
    assert await storage.codes.mark_used(delivered.flow.id, verified_at, give_back=None)
    checks = await storage.stats.code_checks(delivered.flow.id)
    assert checks is not None
    assert checks == CodeChecks(2, verified_at)
    assert checks.wrong == 1
    conversion = await storage.stats.conversion("app-1", *WEEK)
    assert [(c.day, c.channel, c.country, c.flows, c.verified) for c in conversion] == [
        ("2026-11-24", "sms", "GR", 1, 0),
        ("2026-11-24", "viber", "GR", 1, 1),
        ("2026-11-25", "viber", "GR", 1, 0),
    ]


# The same flows as the dashboard table's (tests/support/stats_seed.py), by hand.


async def test_channel_delivery_counts_outcomes_per_channel(
    storage: Storage,
) -> None:
    store = storage.stats
    await seed(storage.flows)
    rows = {r.channel: r for r in await store.channel_delivery(APP, SINCE, UNTIL)}
    assert set(rows) == {"viber", "sms"}
    viber, sms = rows["viber"], rows["sms"]
    assert (viber.steps, viber.delivered, viber.failed, viber.pending) == (5, 2, 2, 1)
    assert (sms.steps, sms.delivered, sms.failed, sms.pending) == (2, 1, 1, 0)


async def test_flows_per_day_outcomes_failovers_costs_and_sms_parts(
    storage: Storage,
) -> None:
    store = storage.stats
    await seed(storage.flows)
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


async def test_cost_per_day_and_channel(storage: Storage) -> None:
    store = storage.stats
    await seed(storage.flows)
    costs = {(c.day, c.channel): c for c in await store.cost_per_day(APP, SINCE, UNTIL)}
    assert set(costs) == {("2026-03-01", "viber"), ("2026-03-01", "sms"), ("2026-03-02", "sms")}
    assert costs["2026-03-01", "viber"].cost == pytest.approx(3 * VIBER_PRICE)
    assert costs["2026-03-01", "viber"].messages == 3
    assert costs["2026-03-02", "sms"].cost == pytest.approx(2 * SMS_PRICE)


async def test_median_time_to_deliver_per_channel_and_country(
    storage: Storage,
) -> None:
    store = storage.stats
    await seed(storage.flows)
    by_country = await store.delivery_latency(APP, SINCE, UNTIL)
    found = {(r.channel, r.country): (r.median_seconds, r.samples) for r in by_country}
    # Viber: 1 s and 3 s → the median of an even count is the mean of the middle two. The SQL
    # store reads medians off its rollups' latency buckets: within 3.5 % (domain/rollups.py).
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


async def test_median_of_an_odd_count_is_the_middle_value(storage: Storage) -> None:
    for minute, seconds in enumerate([5.0, 1.0, 30.0]):
        flow, meta = flow_of(
            "app-odd",
            DAY1 + timedelta(minutes=minute),
            [S(V, StepStatus.DELIVERED, seconds, VIBER_PRICE)],
            FlowStatus.SUCCEEDED,
        )
        await storage.flows.create(flow, meta)
    [row] = await storage.stats.delivery_latency("app-odd", SINCE, UNTIL)
    assert row.median_seconds == pytest.approx(5.0, rel=0.035)
    assert row.samples == 3


async def test_conversion_per_day_channel_and_country(
    storage: Storage,
) -> None:
    store, ids = storage.stats, await seed(storage.flows)
    # The "failover" flow's code is verified (on DAY1).
    await storage.codes.put(
        CodeRow(ids["failover"], APP, "306912345671", "h", None, DAY1, UNTIL, 1, 5)
    )
    assert await storage.codes.mark_used(ids["failover"], DAY1, give_back=None)
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


async def test_the_replay_reads_ended_viber_then_sms_flows(storage: Storage) -> None:
    await an_application(storage)
    delivered = await a_flow(storage, timedelta(0), viber=StepStatus.DELIVERED)
    failed_over = await a_flow(
        storage, timedelta(minutes=1), viber=StepStatus.UNDELIVERED, sms=StepStatus.DELIVERED
    )
    await a_flow(storage, timedelta(minutes=2), viber=None)  # still running: not replayed
    flows, skipped = await storage.replays.recorded("app-1", *WEEK, time_scale=2.0)
    assert skipped == 0
    assert [f.flow_id for f in flows] == sorted([delivered.flow.id, failed_over.flow.id])
    by_id = {f.flow_id: f for f in flows}
    first, second = by_id[delivered.flow.id], by_id[failed_over.flow.id]
    assert (first.viber_delivered, first.sms_started, first.viber_price) == (8.0, None, 0.0093)
    assert first.country == "GR"
    assert second.viber_delivered is None
    assert second.viber_failed == 8.0
    assert second.sms_started == 0.0
    assert second.sms_delivered == 20.0
    assert second.sms_price == 0.0375
    assert await storage.replays.recorded("app-2", *WEEK) == ([], 0)
