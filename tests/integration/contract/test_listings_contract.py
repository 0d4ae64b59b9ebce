"""The listings' contract, held by each implementation alike (in memory, SQLite, PostgreSQL): the
tracking search (every operator on every field, date bounds, paging edges, isolation between
applications), the OTP API's deliveries and the dashboard's flows table (filters, keyset pages,
bounded counts, the export)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection
from sqlalchemy import inspect as sa_inspect
from tests.support.stats_seed import APP as TABLE_APP
from tests.support.stats_seed import seed

from failover_otp.domain.flow import Flow, FlowKind, Role, Step, StepPlan
from failover_otp.domain.listing import (
    Cursor,
    DeliveryFilter,
    SearchField,
    SearchOperator,
    TableFilter,
    TrackingFilter,
    TrackingQuery,
)
from failover_otp.domain.records import FlowMeta
from failover_otp.domain.statuses import (
    DEFAULT_FAILOVER_ON,
    Channel,
    FlowStatus,
    StatusCode,
    StepStatus,
)
from failover_otp.services.ports import Listings
from failover_otp.services.storage import Storage
from failover_otp.store.database import Database
from failover_otp.store.listing import ListingStore
from failover_otp.store.migrate import upgrade

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


async def _seed(storage: Storage, flows: Iterable[tuple[Flow, FlowMeta]]) -> None:
    for flow, meta in flows:
        await storage.flows.create(flow, meta)


@dataclass
class Fixture:
    search: Listings
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
async def data(storage: Storage) -> Fixture:
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
    await _seed(storage, flows.values())
    return Fixture(storage.listings, {name: flow.id for name, (flow, _) in flows.items()})


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


async def test_deliveries_are_counted_up_to_the_limit(storage: Storage) -> None:
    seeded = [
        _flow(
            APP,
            minute,
            FlowKind.OTP,
            [StepSpec(Channel.VIBER, f"3069123456{70 + minute}", StepStatus.DELIVERED)],
            FlowStatus.SUCCEEDED,
        )
        for minute in range(5)
    ]
    await _seed(storage, seeded)
    listings = storage.listings
    where = DeliveryFilter(application_id=APP, kind=FlowKind.OTP)
    total, rows = await listings.deliveries(where, limit=2, offset=0, count_limit=3)
    assert total == 4  # more than 3
    assert [d.step.to for d in rows] == ["306912345674", "306912345673"]
    total, rows = await listings.deliveries(where, limit=2, offset=2, count_limit=3)
    assert [d.step.to for d in rows] == ["306912345672"]
    total, rows = await listings.deliveries(where, limit=2, offset=3, count_limit=3)
    assert rows == []
    total, rows = await listings.deliveries(where, limit=2, offset=4, count_limit=0)
    assert (total, [d.step.to for d in rows]) == (5, ["306912345670"])
    # A whole number is matched as such; digits of one as a part of any.
    whole = DeliveryFilter(
        application_id=APP, kind=FlowKind.OTP, phone="306912345672", phone_whole=True
    )
    total, rows = await listings.deliveries(whole, limit=10, offset=0, count_limit=3)
    assert (total, [d.step.to for d in rows]) == (1, ["306912345672"])
    part = DeliveryFilter(application_id=APP, kind=FlowKind.OTP, phone="3456")
    total, rows = await listings.deliveries(part, limit=10, offset=0, count_limit=10)
    assert total == 5


async def test_delivery_filters(data: Fixture) -> None:
    async def names(**filters: Any) -> list[tuple[str, str]]:
        where = DeliveryFilter(application_id=APP, **filters)
        total, rows = await data.search.deliveries(where, limit=50, offset=0, count_limit=100)
        by_id = {v: k for k, v in data.ids.items()}
        found = [(by_id[d.flow_id], d.step.channel.value) for d in rows]
        assert total == len(found)
        return found

    assert await names() == [
        ("f5", "voice"),
        ("f4", "sms"),
        ("f3", "viber"),
        ("f2", "voice"),
        ("f2", "sms"),
        ("f2", "viber"),
        ("f1", "sms"),
        ("f1", "viber"),
    ]
    # As shown: a queued filter finds the send in flight too.
    assert await names(step_status="QUEUED") == [("f4", "sms"), ("f3", "viber")]
    assert await names(flow_status="Failed") == [("f2", "voice"), ("f2", "sms"), ("f2", "viber")]
    assert await names(kind=FlowKind.OTP) == [("f3", "viber")]
    assert await names(flow_id=data.ids["f1"]) == [("f1", "sms"), ("f1", "viber")]
    assert await names(flow_id=data.ids["b1"]) == []  # another application's flow
    assert await names(phone="4477") == [("f5", "voice"), ("f2", "voice")]
    assert await names(phone="%") == []  # LIKE wildcards are literal
    assert await names(phone=GREEK, phone_whole=True) == [("f1", "sms"), ("f1", "viber")]
    assert await names(step_status="UNDELIVERED", flow_status="Failed", kind=FlowKind.STANDARD) == [
        ("f2", "sms"),
        ("f2", "viber"),
    ]
    rows = (await data.search.deliveries(DeliveryFilter(APP), limit=1, offset=0))[1]
    assert rows[0].flow_status == "Succeeded"
    assert rows[0].step.status is StepStatus.COMPLETED


# -- the dashboard's flows table --------------------------------------------------------------


async def _names(store: Listings, ids: dict[str, str], **filters: Any) -> list[str]:
    page = await store.table(TableFilter(application_id=TABLE_APP, **filters), size=50)
    by_id = {v: k for k, v in ids.items()}
    result = [by_id[r.flow.id] for r in page.records]
    assert page.total == len(result)
    assert page.newer is None
    assert page.older is None
    return result


@pytest.mark.parametrize("few_steps", [20_000, 0], ids=["through-the-index", "flow-by-flow"])
async def test_table_filters(storage: Storage, few_steps: int) -> None:
    """Both SQLite shapes of a step-status filter find the same flows (few matching steps are
    found through the status index, many by testing each flow's own steps)."""
    ids = await seed(storage.flows)
    table = storage.listings
    if isinstance(table, ListingStore):
        table = ListingStore(table.db, few_steps=few_steps)
    await _table_filters(table, ids)


async def _table_filters(table: Listings, ids: dict[str, str]) -> None:
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


async def test_table_pages_by_keyset_both_ways_and_from_a_date(storage: Storage) -> None:
    await _table_pages(storage.listings, await seed(storage.flows))


async def _table_pages(table: Listings, ids: dict[str, str]) -> None:
    everyone = TableFilter(application_id=TABLE_APP)
    first = await table.table(everyone, size=2)
    assert first.total == 6
    assert [r.flow.id for r in first.records] == [ids["waiting"], ids["failed"]]
    assert first.newer is None
    assert first.older is not None
    second = await table.table(everyone, size=2, older_than=first.older)
    assert [r.flow.id for r in second.records] == [ids["failover"], ids["delivered"]]
    assert [s.channel for s in second.records[0].flow.steps] == [Channel.VIBER, Channel.SMS]
    assert second.newer is not None
    assert second.older is not None
    back = await table.table(everyone, size=2, newer_than=second.newer)
    assert [r.flow.id for r in back.records] == [ids["waiting"], ids["failed"]]
    assert back.newer is None
    assert back.older is not None
    last = await table.table(everyone, size=2, older_than=second.older)
    assert [r.flow.id for r in last.records] == [ids["seen"], ids["old"]]
    assert last.older is None
    assert last.newer is not None
    # Jump to day 1: its newest flow first.
    at_day1 = Cursor(datetime(2026, 3, 2, tzinfo=UTC))
    jumped = await table.table(everyone, size=2, older_than=at_day1)
    assert [r.flow.id for r in jumped.records] == [ids["failover"], ids["delivered"]]
    assert jumped.newer is not None
    # A cursor survives its text form.
    assert Cursor.decode(second.older.encode()) == second.older
    # A tracking id's prefix finds its flow too.
    step_id = second.records[0].flow.steps[1].tracking_id
    assert await _names(table, ids, flow_id=step_id[:10]) == ["failover"]


async def test_table_counts_up_to_its_limit_and_exports_every_match(storage: Storage) -> None:
    ids = await seed(storage.flows)
    table = storage.listings
    everyone = TableFilter(application_id=TABLE_APP)
    page = await table.table(everyone, size=2, count_limit=3)
    assert page.total == 4  # "more than 3"
    batches = [b async for b in table.table_batches(everyone, size=4)]
    assert [len(b) for b in batches] == [4, 2]
    assert [r.flow.id for b in batches for r in b][-1] == ids["old"]
