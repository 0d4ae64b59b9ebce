"""The dashboard's flow table over a real database (SQLite and PostgreSQL): its filters, pages
and export, on flows worked out by hand (the charts' aggregates on the same flows:
tests/integration/contract/test_stats_contract.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.support.stats_seed import APP, M, V, seed

from failover_otp.store.database import Database
from failover_otp.store.flow_store import FlowStore
from failover_otp.store.flow_table import Cursor, FlowTable, TableFilter
from failover_otp.store.migrate import upgrade

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def stats(database_url: str) -> AsyncIterator[tuple[Database, dict[str, str]]]:
    await upgrade(database_url)
    db = Database(database_url)
    yield db, await seed(FlowStore(db))
    await db.dispose()


async def _names(store: FlowTable, ids: dict[str, str], **filters: Any) -> list[str]:
    page = await store.page(TableFilter(application_id=APP, **filters), size=50)
    by_id = {v: k for k, v in ids.items()}
    result = [by_id[r.flow.id] for r in page.records]
    assert page.total == len(result)
    assert page.newer is None
    assert page.older is None
    return result


@pytest.mark.parametrize("few_steps", [20_000, 0], ids=["through-the-index", "flow-by-flow"])
async def test_table_filters(stats: tuple[Database, dict[str, str]], few_steps: int) -> None:
    """Both SQLite shapes of a step-status filter find the same flows (few matching steps are
    found through the status index, many by testing each flow's own steps)."""
    db, ids = stats
    table = FlowTable(db, few_steps=few_steps)
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
    stats: tuple[Database, dict[str, str]],
) -> None:
    db, ids = stats
    table = FlowTable(db)
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
    stats: tuple[Database, dict[str, str]],
) -> None:
    db, ids = stats
    table = FlowTable(db, count_limit=3)
    page = await table.page(TableFilter(application_id=APP), size=2)
    assert page.total == 4  # "more than 3"
    batches = [b async for b in table.batches(TableFilter(application_id=APP), size=4)]
    assert [len(b) for b in batches] == [4, 2]
    assert [r.flow.id for b in batches for r in b][-1] == ids["old"]
