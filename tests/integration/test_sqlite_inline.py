"""store/sqlite_inline.py's busy path, on a real SQLite file another connection has locked (as
another process would: SQLite's locks are per connection).

The inline connection runs statements on the event loop with ``busy_timeout`` 0; a statement
that meets the lock must go to a worker thread and wait there (the loop stays free), then
complete exactly once; its connection must come back to the fast path afterwards. These tests
also pin down the private SQLAlchemy API the module relies on (pyproject.toml pins the series).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from tests.support.waiting import wait_until_async

from failover_otp.store import sqlite_inline
from failover_otp.store.availability import unavailable_reason
from failover_otp.store.database import Database

pytestmark = pytest.mark.asyncio


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "busy.db"


@pytest.fixture
async def db(path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{path}")
    async with database.write() as conn:
        await conn.execute(text("CREATE TABLE items (n INTEGER PRIMARY KEY, note TEXT)"))
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def other(path: Path) -> Iterator[sqlite3.Connection]:
    """Another writer on the same file, in autocommit mode (it begins by hand)."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What went to the worker thread to wait for the lock."""
    seen: list[str] = []
    call_waiting = sqlite_inline.InlineSqliteConnection._call_waiting

    def counting(self: Any, function: Any, *args: Any) -> Any:
        seen.append(str(args[0]) if args else getattr(function, "__name__", "?"))
        return call_waiting(self, function, *args)

    monkeypatch.setattr(sqlite_inline.InlineSqliteConnection, "_call_waiting", counting)
    return seen


async def rows(db: Database) -> list[tuple[int, str]]:
    async with db.read() as conn:
        result = await conn.execute(text("SELECT n, note FROM items ORDER BY n"))
        return [(n, note) for n, note in result]


async def ticking(ticks: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        ticks.append(1)
        await asyncio.sleep(0.005)


async def test_a_write_waits_for_the_lock_off_the_loop_then_lands_once(
    db: Database, other: sqlite3.Connection, waits: list[str]
) -> None:
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO items VALUES (1, 'theirs')")

    async def ours() -> None:
        async with db.write() as conn:
            await conn.execute(
                text("INSERT INTO items VALUES (:n, :note)"),
                [{"n": 2, "note": "ours"}, {"n": 3, "note": "ours"}],
            )

    write = asyncio.create_task(ours())
    ticks: list[int] = []
    stop = asyncio.Event()
    ticker = asyncio.create_task(ticking(ticks, stop))
    try:
        # The write met the lock and waits on a worker thread; the loop keeps running meanwhile.
        await wait_until_async(lambda: waits, what="the write to wait on a worker thread")
        before = len(ticks)
        await wait_until_async(lambda: len(ticks) >= before + 10, what="the loop to keep ticking")
        assert not write.done()
    finally:
        stop.set()
        await ticker
    other.execute("COMMIT")
    await asyncio.wait_for(write, 30)
    assert waits[0] == "BEGIN IMMEDIATE"
    assert await rows(db) == [(1, "theirs"), (2, "ours"), (3, "ours")]


async def test_reads_never_wait_for_another_writer(
    db: Database, other: sqlite3.Connection, waits: list[str]
) -> None:
    async with db.write() as conn:
        await conn.execute(text("INSERT INTO items VALUES (1, 'committed')"))
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO items VALUES (2, 'uncommitted')")
    try:
        assert await rows(db) == [(1, "committed")]  # WAL: the last commit, at once
        assert waits == []
    finally:
        other.execute("ROLLBACK")


async def test_after_the_wait_the_connection_is_back_on_the_fast_path(
    db: Database, other: sqlite3.Connection, waits: list[str]
) -> None:
    other.execute("BEGIN IMMEDIATE")
    write = asyncio.create_task(insert(db, 1))
    await wait_until_async(lambda: waits, what="the write to wait on a worker thread")
    other.execute("COMMIT")
    await asyncio.wait_for(write, 30)
    async with db.write() as conn:
        timeout = (await conn.execute(text("PRAGMA busy_timeout"))).scalar()
    assert timeout == 0  # the loop never waits on a lock: the 30 s wait was for the thread only
    waits.clear()
    await insert(db, 2)
    assert waits == []
    assert [n for n, _ in await rows(db)] == [1, 2]


async def test_a_lock_held_past_the_timeout_fails_the_write_cleanly(
    db: Database,
    other: sqlite3.Connection,
    waits: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sqlite_inline, "BUSY_TIMEOUT_MS", 100)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO items VALUES (1, 'theirs')")
    try:
        with pytest.raises((OperationalError, sqlite3.OperationalError), match="locked") as failed:
            await asyncio.wait_for(insert(db, 2), 30)
        assert waits  # it did wait on the thread before giving up
        # Answered as an overload (503 + Retry-After), not as a bug (500).
        assert unavailable_reason(failed.value) == "busy"
    finally:
        other.execute("COMMIT")
    # Nothing half-written, and the next write goes through.
    await insert(db, 3)
    assert [n for n, _ in await rows(db)] == [1, 3]


async def insert(db: Database, n: int) -> None:
    async with db.write() as conn:
        await conn.execute(text("INSERT INTO items VALUES (:n, 'ours')"), {"n": n})
