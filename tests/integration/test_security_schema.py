"""Migrations 0004 and 0012 (security) and 0013 (operators, dashboard sessions, audit trail)
build exactly the tables ``store/tables.py`` declares for them."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from failover_otp.store.database import engine_for
from failover_otp.store.migrate import upgrade
from failover_otp.store.tables import metadata


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: an empty database, not one at head."""
    return empty_database_url


OURS = {"idempotency_keys", "otp_codes", "rate_counters", "spend_days", "spend_reservations"} | {
    "operators",
    "operator_roles",
    "dashboard_sessions",
    "audit_log",
}


def _table_of(diff: Any) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(part, str) and part in OURS:
            return part
        if name in OURS:
            return str(name)
    return None


async def test_migration_matches_the_tables(database_url: str) -> None:
    await upgrade(database_url)
    engine = engine_for(database_url)
    try:
        async with engine.connect() as conn:

            def diffs(sync: Connection) -> list[Any]:
                context = MigrationContext.configure(sync, opts={"compare_type": True})
                return list(compare_metadata(context, metadata))

            found = await conn.run_sync(diffs)
            names = await conn.run_sync(lambda sync: sync.dialect.get_table_names(sync))
    finally:
        await engine.dispose()
    assert set(names) >= OURS
    assert [d for d in found if _table_of(d) in OURS] == []
