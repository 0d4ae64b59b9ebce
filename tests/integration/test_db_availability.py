"""Which database errors are conditions of the moment (503, not ready) and which are bugs (500):
each produced for real, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy import text
from tests.support.ports import free_port

from failover_otp.store.availability import unavailable_reason
from failover_otp.store.database import Database


def _wrapped(error: sqlite3.Error) -> sqlalchemy_exc.StatementError:
    """The error as SQLAlchemy hands it on (what the API's error handler sees)."""
    wrapped = sqlalchemy_exc.DBAPIError.instance(None, None, error, sqlite3.Error)
    assert isinstance(wrapped, sqlalchemy_exc.DBAPIError)
    return wrapped


def _sqlite_error(path: Path, *statements: str, other: str | None = None) -> sqlite3.Error:
    holder = sqlite3.connect(path, isolation_level=None)
    if other is not None:
        holder.execute(other)
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
    except sqlite3.Error as error:
        return error
    finally:
        conn.close()
        holder.close()
    raise AssertionError("the statements did not fail")


def test_sqlite_errors(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    setup = sqlite3.connect(path)
    setup.execute("CREATE TABLE t (x TEXT)")
    setup.commit()
    setup.close()
    locked = _sqlite_error(path, "BEGIN IMMEDIATE", other="BEGIN IMMEDIATE")
    full = _sqlite_error(path, "PRAGMA max_page_count=1", "INSERT INTO t VALUES (zeroblob(100000))")
    read_only_uri = f"file:{path}?mode=ro"
    ro = sqlite3.connect(read_only_uri, uri=True)
    with pytest.raises(sqlite3.OperationalError) as read_only:
        ro.execute("INSERT INTO t VALUES ('x')")
    ro.close()
    bug = _sqlite_error(path, "SELEC nonsense")
    assert unavailable_reason(_wrapped(locked)) == "busy"
    assert unavailable_reason(_wrapped(full)) == "unavailable"
    assert unavailable_reason(_wrapped(read_only.value)) == "unavailable"
    assert unavailable_reason(_wrapped(bug)) is None
    assert unavailable_reason(ValueError("a bug")) is None


@pytest.mark.postgres
async def test_postgresql_errors(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        async with db.writer.connect() as conn:
            await conn.execute(text("SET TRANSACTION READ ONLY"))
            with pytest.raises(sqlalchemy_exc.DBAPIError) as read_only:
                await conn.execute(text("CREATE TABLE t (x int)"))
        assert unavailable_reason(read_only.value) == "unavailable"
        async with db.writer.connect() as conn:
            with pytest.raises(sqlalchemy_exc.DBAPIError) as bug:
                await conn.execute(text("SELEC nonsense"))
        assert unavailable_reason(bug.value) is None
    finally:
        await db.dispose()
    down = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    try:
        with pytest.raises(Exception) as refused:  # noqa: PT011 (asyncpg's own, unwrapped)
            async with down.read() as conn:
                await conn.execute(text("SELECT 1"))
        assert unavailable_reason(refused.value) == "unavailable"
    finally:
        await down.dispose()
