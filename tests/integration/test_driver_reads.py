"""Hot point reads through the driver (``Database.read_row``): the times they compare must be
stored the way SQLAlchemy's ``UTCDateTime`` stores them, on SQLite (text) and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import insert

from failover_otp.store.database import Database
from failover_otp.store.migrate import upgrade
from failover_otp.store.tables import access_tokens, applications

_SQL = "SELECT application_id FROM access_tokens WHERE token_hash = {0} AND expires_at > {1}"


async def test_times_compare_as_stored_to_the_microsecond(database_url: str) -> None:
    await upgrade(database_url)
    db = Database(database_url)
    expires = datetime(2026, 11, 29, 10, 0, 0, 123_456, tzinfo=UTC)
    try:
        async with db.write() as conn:
            await conn.execute(
                insert(applications).values(
                    id="app1", name="a", secret_hash="x", created_at=expires, disabled=False
                )
            )
            await conn.execute(
                insert(access_tokens).values(
                    token_hash="h", application_id="app1", expires_at=expires
                )
            )

        async def owner(now: datetime) -> object:
            row = await db.read_row(
                _SQL.format("$1", "$2"), _SQL.format("?", "?"), "h", db.stored_time(now)
            )
            return None if row is None else row[0]

        microsecond = timedelta(microseconds=1)
        assert await owner(expires - microsecond) == "app1"
        assert await owner(expires) is None
        assert await owner(expires + microsecond) is None
        # An aware time in another zone is the same instant.
        athens = expires.astimezone(timezone(timedelta(hours=2))) - microsecond
        assert await owner(athens) == "app1"
        assert (
            await db.read_row(
                _SQL.format("$1", "$2"), _SQL.format("?", "?"), "other", db.stored_time(expires)
            )
            is None
        )
    finally:
        await db.dispose()
