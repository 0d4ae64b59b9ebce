"""SQLite for the async engine without a thread per statement.

SQLAlchemy's async SQLite dialect drives ``aiosqlite``, which runs every statement on a thread of
its own and wakes the event loop when it is done: two thread switches and a GIL hand-off per
statement, which cost far more than the statement itself (a point read or a one-row write takes
a few microseconds) and grow to milliseconds on a busy machine. This module gives the dialect a
connection with the same interface that calls :mod:`sqlite3` directly on the event loop.

Only one thing could make such a call slow: waiting for a lock that another *process* holds
(this process has a single writer connection, and readers never block in WAL mode). So the
connection runs with ``busy_timeout`` 0, and a statement that finds the database locked is run
again on a worker thread with the full timeout, so the loop never waits for another process.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator, Iterable
from typing import Any, TypeVar

from sqlalchemy.util import await_

T = TypeVar("T")

# How long a statement may wait for another process's lock (on a worker thread).
BUSY_TIMEOUT_MS = 30_000


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(error).lower()
    return "locked" in text or "busy" in text


class InlineSqliteConnection:
    """The subset of ``aiosqlite.Connection`` that SQLAlchemy's aiosqlite dialect uses."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _InlineQueue()
        connection.execute("PRAGMA busy_timeout=0")

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        try:
            return function(*args)
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
        return await asyncio.to_thread(self._call_waiting, function, *args)

    @property
    def raw(self) -> sqlite3.Connection:
        """The :mod:`sqlite3` connection, for :meth:`call` (store/driver_sql.py)."""
        return self._conn

    def execute_now(self, sql: str) -> None:
        """Run ``sql`` from synchronous SQLAlchemy code (an event handler, inside the async
        engine's greenlet): at once, or on a worker thread if the database is locked."""
        try:
            self._conn.execute(sql)
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
            await_(asyncio.to_thread(self._call_waiting, self._conn.execute, sql))

    def _call_waiting(self, function: Callable[..., T], *args: Any) -> T:
        self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        try:
            return function(*args)
        finally:
            self._conn.execute("PRAGMA busy_timeout=0")

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _CursorContext:
        return _CursorContext(self)

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        cursor = InlineCursor(self, self._conn.cursor())
        await cursor.execute(sql, parameters)
        return cursor

    async def commit(self) -> None:
        await self.call(self._conn.commit)

    async def rollback(self) -> None:
        await self.call(self._conn.rollback)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


class InlineCursor:
    """The subset of ``aiosqlite.Cursor`` the dialect uses, over a :class:`sqlite3.Cursor`."""

    def __init__(self, owner: InlineSqliteConnection, cursor: sqlite3.Cursor) -> None:
        self._owner = owner
        self._cursor = cursor

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        if parameters is None:
            await self._owner.call(self._cursor.execute, sql)
        else:
            await self._owner.call(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        rows = list(parameters)  # a retry must see every row again
        await self._owner.call(self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return await self._owner.call(self._cursor.fetchone)

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        if size is None:
            return await self._owner.call(self._cursor.fetchmany)
        return await self._owner.call(self._cursor.fetchmany, size)

    async def fetchall(self) -> list[Any]:
        return await self._owner.call(self._cursor.fetchall)

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _CursorContext:
    """What ``aiosqlite.Connection.cursor()`` returns: awaitable and an async context manager."""

    def __init__(self, owner: InlineSqliteConnection) -> None:
        self._owner = owner

    def _make(self) -> InlineCursor:
        return InlineCursor(self._owner, self._owner._conn.cursor())

    def __await__(self) -> Generator[Any, None, InlineCursor]:
        return self._aenter().__await__()

    async def _aenter(self) -> InlineCursor:
        return self._make()

    async def __aenter__(self) -> InlineCursor:
        return self._make()

    async def __aexit__(self, *exc: object) -> None:
        return None


class _InlineQueue:
    """Stands in for aiosqlite's work queue, which the dialect's ``isolation_level`` setter
    uses directly: the function runs at once and its future gets the result."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:
            if future is None:
                raise
            future.set_exception(error)
        else:
            if future is not None:
                future.set_result(result)


def connector(path: str, **kwargs: Any) -> Callable[[], Any]:
    """An ``async_creator`` for :func:`sqlalchemy.ext.asyncio.create_async_engine`."""

    async def connect() -> InlineSqliteConnection:
        # check_same_thread=False: a statement that met another process's lock is retried on a
        # worker thread (the loop awaits it, so the connection is never used by two at once).
        connection = sqlite3.connect(path, check_same_thread=False, **kwargs)
        return InlineSqliteConnection(connection)

    return connect


async def reader(path: str) -> InlineSqliteConnection:
    """A connection for point reads run through the driver (store/driver_sql.py): each
    statement on its own, no transaction."""
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    return InlineSqliteConnection(connection)
