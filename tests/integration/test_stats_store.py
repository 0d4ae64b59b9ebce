"""The dashboard's read model over a real database (SQLite and PostgreSQL): the flow list with
its filters, and every aggregate the charts draw, against numbers worked out by hand."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from failover_otp.domain.flow import Flow, FlowKind, Role, Step, StepPlan
from failover_otp.domain.statuses import DEFAULT_FAILOVER_ON, Channel, FlowStatus, StepStatus
from failover_otp.store.database import Database
from failover_otp.store.flow_store import FlowMeta, FlowStore
from failover_otp.store.migrate import upgrade
from failover_otp.store.stats_store import FlowListFilter, StatsStore

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
    found = {(r.channel, r.country): (round(r.median_seconds, 3), r.samples) for r in by_country}
    # Viber: 1 s and 3 s → the median of an even count is the mean of the middle two.
    assert found == {("sms", "GR"): (2.0, 1), ("viber", "GR"): (2.0, 2)}
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
    assert row.median_seconds == pytest.approx(5.0, abs=0.01)
    assert row.samples == 3


async def test_recent_flows_filters(stats: tuple[StatsStore, dict[str, str]]) -> None:
    store, ids = stats

    async def names(**filters: str) -> list[str]:
        total, records = await store.recent_flows(
            FlowListFilter(application_id=APP, **filters), limit=50
        )
        by_id = {v: k for k, v in ids.items()}
        result = [by_id[r.flow.id] for r in records]
        assert total == len(result)
        return result

    assert await names() == ["waiting", "failed", "failover", "delivered", "seen", "old"]
    assert await names(flow_status="Failed") == ["failed"]
    assert await names(step_status="EXPIRED") == ["failover"]
    assert await names(tag="PAY") == ["delivered"]
    assert await names(phone="357") == ["failed"]
    assert await names(flow_id=ids["seen"]) == ["seen"]
    assert await names(flow_id=ids["other"]) == []  # another application's flow


async def test_recent_flows_pages_and_loads_steps(
    stats: tuple[StatsStore, dict[str, str]],
) -> None:
    store, ids = stats
    total, records = await store.recent_flows(FlowListFilter(application_id=APP), limit=2, offset=1)
    assert total == 6
    assert [r.flow.id for r in records] == [ids["failed"], ids["failover"]]
    assert [s.channel for s in records[1].flow.steps] == [V, M]
    # A tracking id finds its flow too.
    step_id = records[1].flow.steps[1].tracking_id
    _, found = await store.recent_flows(
        FlowListFilter(application_id=APP, flow_id=step_id), limit=5
    )
    assert [r.flow.id for r in found] == [ids["failover"]]
