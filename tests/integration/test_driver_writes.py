"""Hot statements run through the driver (store/driver_sql.py) write and read what SQLAlchemy
would: aware UTC times, booleans, JSON; an aborted transaction leaves nothing; a driver's error
is SQLAlchemy's, so the API tells overload from a bug as for any statement."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import DBAPIError

from failover_otp.store.database import Database
from failover_otp.store.migrate import upgrade
from failover_otp.store.tables import applications

_CREATED = datetime(2026, 11, 29, 10, 0, 0, 123_456, tzinfo=UTC)
_BY_ID = select(applications.c.id, applications.c.created_at, applications.c.disabled).where(
    applications.c.id == bindparam("app_id")
)


def _app(app_id: str) -> dict[str, object]:
    return {
        "id": app_id,
        "name": "a",
        "secret_hash": "x",
        "created_at": _CREATED,
        "disabled": True,
    }


async def test_driver_writes_read_back_as_sqlalchemy_reads_them(database_url: str) -> None:
    await upgrade(database_url)
    db = Database(database_url)
    statement = insert(applications)
    try:
        async with db.driver_write() as driver:
            values = _app("app1")
            assert await driver.execute(statement, values, columns=tuple(values)) == 1
        async with db.read() as conn:
            row = (await conn.execute(_BY_ID, {"app_id": "app1"})).one()
        assert tuple(row) == ("app1", _CREATED, True)
        async with db.driver_read() as driver:
            assert await driver.fetch(_BY_ID, {"app_id": "app1"}) == [("app1", _CREATED, True)]

        async with db.driver_write() as driver:
            values = _app("app2")
            await driver.execute(statement, values, columns=tuple(values))
            driver.abort()
        async with db.driver_read() as driver:
            assert await driver.fetch(_BY_ID, {"app_id": "app2"}) == []

        async def insert_again() -> None:
            async with db.driver_write(one_statement=True) as driver:
                values = _app("app1")  # the same id again
                await driver.execute(statement, values, columns=tuple(values))

        with pytest.raises(DBAPIError):
            await insert_again()
        # The writer is usable after the error.
        async with db.driver_write() as driver:
            values = _app("app3")
            assert await driver.execute(statement, values, columns=tuple(values)) == 1
    finally:
        await db.dispose()
