"""The tracking search over a real database (SQLite and PostgreSQL): every operator on every
field, date bounds, paging edges and isolation between applications."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection
from sqlalchemy import inspect as sa_inspect

from failover_otp.domain.flow import Flow, FlowKind, Role, Step, StepPlan
from failover_otp.domain.records import FlowMeta
from failover_otp.domain.statuses import (
    DEFAULT_FAILOVER_ON,
    Channel,
    FlowStatus,
    StatusCode,
    StepStatus,
)
from failover_otp.store.database import Database
from failover_otp.store.flow_store import FlowStore
from failover_otp.store.listing import DeliveryFilter, Listings
from failover_otp.store.migrate import upgrade
from failover_otp.store.search_store import (
    SearchField,
    SearchOperator,
    SearchStore,
    TrackingFilter,
    TrackingQuery,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

APP, OTHER = "app-a", "app-b"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GREEK = "306912345671"


@dataclass(frozen=True)
class StepSpec:
    channel: Channel
    to: str
    status: StepStatus


def _flow(
    app: str,
    minute: int,
    kind: FlowKind,
    specs: list[StepSpec],
    status: FlowStatus,
    code: StatusCode | None = None,
) -> tuple[Flow, FlowMeta]:
    flow_id = str(uuid.uuid4())
    created = T0 + timedelta(minutes=minute)
    plans = tuple(StepPlan(s.channel, s.to, 60.0, DEFAULT_FAILOVER_ON[s.channel]) for s in specs)
    steps = tuple(
        Step(
            index=i,
            tracking_id=str(uuid.uuid4()),
            role=Role.PRIMARY if i == 0 else Role.FAILOVER,
            channel=s.channel,
            to=s.to,
            status=s.status,
            created_at=created + timedelta(seconds=i),
            updated_at=created + timedelta(seconds=i),
            price=0.01,
        )
        for i, s in enumerate(specs)
    )
    flow = Flow(
        id=flow_id,
        application_id=app,
        kind=kind,
        plans=plans,
        created_at=created,
        updated_at=created,
        status=status,
        status_code=code,
        steps=steps,
    )
    request = [{"type": s.channel.type_name, "order": i + 1} for i, s in enumerate(specs)]
    return flow, FlowMeta(request=request, phone=specs[0].to)


@dataclass
class Fixture:
    search: SearchStore
    ids: dict[str, str]

    async def names(
        self, *filters: tuple[str, str, str], app: str = APP, **kw: object
    ) -> list[str]:
        query = TrackingQuery(
            application_id=app,
            filters=tuple(
                TrackingFilter(SearchField(f), SearchOperator(o), t) for f, o, t in filters
            ),
            **kw,  # type: ignore[arg-type]
        )
        _, records = await self.search.search(query)
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[r.flow.id] for r in records]


@pytest.fixture
async def data(database_url: str) -> AsyncIterator[Fixture]:
    await upgrade(database_url)
    db = Database(database_url)
    store = FlowStore(db)
    viber, sms, voice = Channel.VIBER, Channel.SMS, Channel.VOICE
    flows = {
        # Viber FAILED, SMS Delivered.
        "f1": _flow(
            APP,
            1,
            FlowKind.STANDARD,
            [StepSpec(viber, GREEK, StepStatus.FAILED), StepSpec(sms, GREEK, StepStatus.DELIVERED)],
            FlowStatus.SUCCEEDED,
        ),
        # Viber, SMS, then a call to a UK number that nobody answered.
        "f2": _flow(
            APP,
            2,
            FlowKind.STANDARD,
            [
                StepSpec(viber, "306912345672", StepStatus.UNDELIVERED),
                StepSpec(sms, "306912345672", StepStatus.UNDELIVERED),
                StepSpec(voice, "447700900123", StepStatus.NO_ANSWER),
            ],
            FlowStatus.FAILED,
            StatusCode.NO_NEXT_STEP,
        ),
        # An OTP flow still waiting on Viber.
        "f3": _flow(
            APP,
            3,
            FlowKind.OTP,
            [StepSpec(viber, "306912345673", StepStatus.QUEUED)],
            FlowStatus.IN_PROGRESS,
        ),
        # The first send's answer is outstanding: Queued.
        "f4": _flow(
            APP,
            4,
            FlowKind.STANDARD,
            [StepSpec(sms, "306900000004", StepStatus.SENDING)],
            FlowStatus.IN_PROGRESS,
        ),
        # A completed call.
        "f5": _flow(
            APP,
            5,
            FlowKind.STANDARD,
            [StepSpec(voice, "447700900555", StepStatus.COMPLETED)],
            FlowStatus.SUCCEEDED,
        ),
        # Another application, same number as f1.
        "b1": _flow(
            OTHER,
            1,
            FlowKind.STANDARD,
            [StepSpec(sms, GREEK, StepStatus.DELIVERED)],
            FlowStatus.SUCCEEDED,
        ),
    }
    for flow, meta in flows.values():
        await store.create(flow, meta)
    yield Fixture(SearchStore(db), {name: flow.id for name, (flow, _) in flows.items()})
    await db.dispose()


ALL = ["f5", "f4", "f3", "f2", "f1"]  # newest first


async def test_no_filter_lists_the_application_newest_first(data: Fixture) -> None:
    assert await data.names() == ALL
    assert await data.names(app=OTHER) == ["b1"]
    assert await data.names(app="nobody") == []


TYPE_CASES = [
    ("is", "viber", ["f3", "f2", "f1"]),
    ("is", "sms", ["f4", "f2", "f1"]),
    ("is", "voice", ["f5", "f2"]),
    ("is_not", "viber", ["f5", "f4"]),
    ("is_not", "voice", ["f4", "f3", "f1"]),
    ("is_not", "sms", ["f5", "f3"]),
]


async def test_type(data: Fixture) -> None:
    for operator, term, expected in TYPE_CASES:
        got = await data.names(("type", operator, term))
        assert got == expected, (operator, term)


TO_CASES = [
    ("is", GREEK, ["f1"]),
    ("is", "447700900123", ["f2"]),  # any message's destination, not only the first
    ("is", "30691234567", []),  # exact, not a prefix
    ("is_not", GREEK, ["f5", "f4", "f3", "f2"]),
    ("contains", "91234567", ["f3", "f2", "f1"]),
    ("contains", "%", []),  # LIKE wildcards are literal
    ("contains", "_", []),
    ("starts_with", "4477", ["f5", "f2"]),
    ("starts_with", "7700", []),
    ("ends_with", "555", ["f5"]),
    ("ends_with", "0004", ["f4"]),
    ("ends_with", "3069", []),
]


async def test_to(data: Fixture) -> None:
    for operator, term, expected in TO_CASES:
        got = await data.names(("to", operator, term))
        assert got == expected, (operator, term)


STATUS_CASES = [
    ("is", "Succeeded", ["f5", "f1"]),
    ("is", "Failed", ["f2"]),
    ("is", "InProgress", ["f3"]),
    ("is", "Queued", ["f4"]),
    ("is_not", "Succeeded", ["f4", "f3", "f2"]),
    ("is_not", "Failed", ["f5", "f4", "f3", "f1"]),
    ("is_not", "InProgress", ["f5", "f4", "f2", "f1"]),
    ("is_not", "Queued", ["f5", "f3", "f2", "f1"]),
]


async def test_status(data: Fixture) -> None:
    for operator, term, expected in STATUS_CASES:
        got = await data.names(("status", operator, term))
        assert got == expected, (operator, term)


TERMINATION_CHANNEL_CASES = [
    ("is", "Sms", ["f1"]),
    ("is", "Voice", ["f5", "f2"]),
    ("is", "Viber", []),
    ("is_not", "Voice", ["f4", "f3", "f1"]),  # running flows have no termination channel
    ("is_not", "Viber", ALL),
]


async def test_termination_channel(data: Fixture) -> None:
    for operator, term, expected in TERMINATION_CHANNEL_CASES:
        got = await data.names(("terminationChannel", operator, term))
        assert got == expected, (operator, term)


async def test_filters_combine_with_and(data: Fixture) -> None:
    assert await data.names(("type", "is", "sms"), ("status", "is", "Succeeded")) == ["f1"]
    assert await data.names(("to", "contains", "3069"), ("to", "ends_with", "2")) == ["f2"]
    assert await data.names(("type", "is", "voice"), ("type", "is_not", "viber")) == ["f5"]


async def test_date_bounds_are_start_inclusive_end_exclusive(data: Fixture) -> None:
    at = T0 + timedelta(minutes=2)
    assert await data.names(date_start=at) == ["f5", "f4", "f3", "f2"]
    assert await data.names(date_end=at) == ["f1"]
    assert await data.names(date_start=at, date_end=at + timedelta(minutes=2)) == ["f3", "f2"]
    assert await data.names(date_start=T0 + timedelta(days=1)) == []
    assert await data.names(date_end=T0) == []


async def test_paging(data: Fixture) -> None:
    async def page(number: int, size: int) -> tuple[int, list[str]]:
        total, records = await data.search.search(
            TrackingQuery(application_id=APP, page=number, size=size)
        )
        by_id = {v: k for k, v in data.ids.items()}
        return total, [by_id[r.flow.id] for r in records]

    assert await page(0, 2) == (5, ["f5", "f4"])
    assert await page(1, 2) == (5, ["f3", "f2"])
    assert await page(2, 2) == (5, ["f1"])  # the last page is short
    assert await page(3, 2) == (5, [])  # past the end: empty, total still known
    assert [await page(n, 1) for n in range(5)] == [(5, [name]) for name in ALL]
    assert await page(0, 200) == (5, ALL)
    total, records = await data.search.search(
        TrackingQuery(
            application_id=APP,
            filters=(TrackingFilter(SearchField.TYPE, SearchOperator.IS, "voice"),),
            page=0,
            size=1,
        )
    )
    assert total == 2
    assert len(records) == 1


async def test_records_are_complete(data: Fixture) -> None:
    _, records = await data.search.search(
        TrackingQuery(
            application_id=APP,
            filters=(TrackingFilter(SearchField.TO, SearchOperator.IS, "447700900123"),),
        )
    )
    (record,) = records
    flow = record.flow
    assert [s.channel for s in flow.steps] == [Channel.VIBER, Channel.SMS, Channel.VOICE]
    assert flow.status is FlowStatus.FAILED
    assert flow.status_code is StatusCode.NO_NEXT_STEP
    assert flow.kind is FlowKind.STANDARD
    assert record.meta.request[2]["type"] == "Voice"


async def test_applications_are_isolated(data: Fixture) -> None:
    assert await data.names(("to", "is", GREEK), app=OTHER) == ["b1"]
    assert await data.names(("to", "is", GREEK)) == ["f1"]
    assert await data.names(("type", "is", "viber"), app=OTHER) == []
    assert await data.names(("status", "is", "Succeeded"), app=OTHER) == ["b1"]
    assert await data.names(("terminationChannel", "is", "Voice"), app=OTHER) == []


async def test_migration_0002_creates_the_search_indexes(database_url: str) -> None:
    await upgrade(database_url)
    db = Database(database_url)

    def inspect(conn: Connection) -> tuple[set[str], set[str]]:
        inspector = sa_inspect(conn)
        indexes = {
            str(ix["name"]) for table in ("flows", "steps") for ix in inspector.get_indexes(table)
        }
        columns = {str(c["name"]) for c in inspector.get_columns("flows")}
        return indexes, columns

    try:
        async with db.read() as conn:
            indexes, columns = await conn.run_sync(inspect)
    finally:
        await db.dispose()
    assert {
        "ix_flows_application_id_termination_channel_created_at_id",
        "ix_steps_application_id_channel_flow_id",
        "ix_steps_application_id_phone_flow_id",
    } <= indexes
    assert "callback_strategy" in columns


async def test_a_bounded_count_stops_past_its_limit_and_pages_stay_within_it(
    data: Fixture,
) -> None:
    async def page(number: int, size: int, limit: int) -> tuple[int, list[str]]:
        query = TrackingQuery(application_id=APP, page=number, size=size, count_limit=limit)
        total, records = await data.search.search(query)
        by_id = {v: k for k, v in data.ids.items()}
        return total, [by_id[r.flow.id] for r in records]

    # Five flows, counted up to 3: the count says "more than 3" (4), and only the first three
    # can be paged through.
    assert await page(0, 2, 3) == (4, ["f5", "f4"])
    assert await page(1, 2, 3) == (4, ["f3"])
    assert await page(2, 2, 3) == (4, [])
    # At or under the limit the count is exact, and the last page is read from the far end.
    assert await page(0, 2, 5) == (5, ["f5", "f4"])
    assert await page(2, 2, 5) == (5, ["f1"])
    assert await page(1, 2, 10) == (5, ["f3", "f2"])


async def test_deliveries_are_counted_up_to_the_limit(database_url: str) -> None:
    await upgrade(database_url)
    db = Database(database_url)
    store = FlowStore(db)
    try:
        for minute in range(5):
            number = f"3069123456{70 + minute}"
            flow, meta = _flow(
                APP,
                minute,
                FlowKind.OTP,
                [StepSpec(Channel.VIBER, number, StepStatus.DELIVERED)],
                FlowStatus.SUCCEEDED,
            )
            await store.create(flow, meta)
        listings = Listings(db)
        where = DeliveryFilter(application_id=APP, kind=FlowKind.OTP)
        total, rows = await listings.list_deliveries(where, limit=2, offset=0, count_limit=3)
        assert total == 4  # more than 3
        assert [r["phone"] for r in rows] == ["306912345674", "306912345673"]
        total, rows = await listings.list_deliveries(where, limit=2, offset=2, count_limit=3)
        assert [r["phone"] for r in rows] == ["306912345672"]
        total, rows = await listings.list_deliveries(where, limit=2, offset=3, count_limit=3)
        assert rows == []
        total, rows = await listings.list_deliveries(where, limit=2, offset=4, count_limit=0)
        assert (total, [r["phone"] for r in rows]) == (5, ["306912345670"])
        # A whole number is matched as such; digits of one as a part of any.
        whole = DeliveryFilter(
            application_id=APP, kind=FlowKind.OTP, phone="306912345672", phone_whole=True
        )
        total, rows = await listings.list_deliveries(whole, limit=10, offset=0, count_limit=3)
        assert (total, [r["phone"] for r in rows]) == (1, ["306912345672"])
        part = DeliveryFilter(application_id=APP, kind=FlowKind.OTP, phone="3456")
        total, rows = await listings.list_deliveries(part, limit=10, offset=0, count_limit=10)
        assert total == 5
    finally:
        await db.dispose()
