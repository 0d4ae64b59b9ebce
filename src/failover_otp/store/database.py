"""Engines for SQLite (one writer connection, several readers, WAL) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine import Dialect as SQLAlchemyDialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from failover_otp.store import sqlite_inline
from failover_otp.store.dialect import Dialect, dialect_named
from failover_otp.store.driver_sql import (
    DriverConnection,
    PostgresDriver,
    SqliteDriver,
    as_sqlalchemy_error,
    no_reset,
    setup_postgres_connection,
)
from failover_otp.store.file_modes import secure_database_file

# SQLite reader connections kept for the driver's point reads (one is enough while reads take
# microseconds on the event loop; another is opened while one waits out another process's lock).
_SQLITE_READERS_KEPT = 4


class UnsupportedDatabase(ValueError):
    pass


class DatabaseBusy(sqlalchemy_exc.TimeoutError):
    """No connection (or SQLite write turn) within the pool timeout: the same condition as
    SQLAlchemy's own pool timeout, which it extends."""


def async_url(url: str) -> URL:
    """Map the user-facing ``sqlite:///`` / ``postgresql://`` URL to its async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise UnsupportedDatabase(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")


def _prepare_sqlite_file(url: URL) -> None:
    if url.database and url.database != ":memory:":
        secure_database_file(Path(url.database).expanduser())


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Transactions are begun by hand (see _begin_immediate), so the driver must not.
    dbapi_connection.isolation_level = None
    inline = isinstance(
        getattr(dbapi_connection, "driver_connection", None), sqlite_inline.InlineSqliteConnection
    )
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL loses at most the last commits on power loss, never on a process crash (WAL).
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Statements run on the event loop never wait for a lock there: a locked database sends
    # them to a worker thread that waits up to 30 s (see sqlite_inline).
    cursor.execute(f"PRAGMA busy_timeout={0 if inline else sqlite_inline.BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Database:
    """The service's engines. On SQLite writes go through one connection whose transactions
    start with ``BEGIN IMMEDIATE``, so writers queue instead of failing on lock upgrades, while
    reads use a small pool of their own. On PostgreSQL both are one asyncpg pool."""

    def __init__(self, url: str, *, pool_size: int = 10, pool_timeout: float = 30.0) -> None:
        self.url = async_url(url)
        # How long a caller waits for a connection (a pooled one, or SQLite's writer) before
        # DatabaseBusy: under overload a request is answered 503 quickly instead of queueing.
        self.pool_timeout = pool_timeout
        # What the stores' SQL asks of the database (store/dialect.py); the engines are here.
        self.dialect: Dialect = dialect_named(self.url.get_backend_name())
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self._write_turn = asyncio.Lock()
        self._write_conn: AsyncConnection | None = None
        # Hot statements run through the drivers (store/driver_sql.py): SQLite's writer's
        # driver, readers of its own; PostgreSQL: asyncpg's pool, opened on first use.
        self._write_driver: tuple[AsyncConnection, sqlite_inline.InlineSqliteConnection] | None = (
            None
        )
        self._sqlite_readers: list[sqlite_inline.InlineSqliteConnection] = []
        self._pool_size = pool_size
        self._pg_pool: asyncpg.Pool | None = None
        self._pg_pool_opening = asyncio.Lock()
        self._last_wait = (0.0, 0.0)  # (seconds waited, when: monotonic)
        if self.is_sqlite:
            _prepare_sqlite_file(self.url)
            # Point reads and writes take microseconds: they run on the event loop (see
            # sqlite_inline), over one writer connection and a small pool of readers. Reads
            # that may scan many rows (list and search pages) keep a thread of their own.
            inline = sqlite_inline.connector(self.url.database or ":memory:")
            self.writer = create_async_engine(
                self.url, async_creator=inline, pool_size=1, max_overflow=0
            )  # always checked out by write(): its wait is the write turn's
            # Connections are kept once opened (no overflow): a new one costs ~0.5 ms, most of
            # it reading the schema, more than the reads it would serve.
            self.reader = create_async_engine(
                self.url,
                async_creator=inline,
                pool_size=20,
                max_overflow=0,
                pool_timeout=pool_timeout,
            )
            self.scanner = create_async_engine(self.url, poolclass=NullPool)
            for engine in (self.writer, self.reader, self.scanner):
                event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.writer.sync_engine, "begin", _begin_immediate)
            # Point reads are single statements, each atomic on its own: they run without a
            # BEGIN (PostgreSQL's READ COMMITTED gives no more to a multi-statement read either).
            # A list or search page keeps one snapshot for its count and its rows.
            event.listen(self.scanner.sync_engine, "begin", _begin_deferred)
        else:
            # pool_size connections, all kept once opened: an overflow connection was closed
            # on every return, and opening one (a new server backend) costs milliseconds, at
            # exactly the moments the service is busiest. The hot statements have the driver's
            # own pool, twice as large (driver_write, driver_read).
            self.writer = create_async_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=0,
                pool_timeout=pool_timeout,
                pool_pre_ping=False,
                connect_args={"server_settings": {"application_name": "failover-otp"}},
            )
            # Reads run without BEGIN/ROLLBACK round trips. Under PostgreSQL's READ COMMITTED each
            # statement sees its own snapshot anyway, so a read transaction adds nothing else.
            self.reader = self.writer.execution_options(isolation_level="AUTOCOMMIT")
            # List and search pages: asyncpg prepares every statement, and after five runs
            # PostgreSQL may switch to a generic plan that cannot see a LIKE pattern (a rare
            # partial number then walks the whole created_at index: ~1 s instead of ~1 ms on a
            # million rows). Their own small pool plans each query for its actual values.
            self.scanner = create_async_engine(
                self.url,
                pool_size=2,
                max_overflow=pool_size,
                pool_timeout=pool_timeout,
                pool_pre_ping=False,
                isolation_level="AUTOCOMMIT",
                connect_args={
                    "server_settings": {
                        "application_name": "failover-otp",
                        "plan_cache_mode": "force_custom_plan",
                        # A count over a million rows passes the JIT cost threshold, and the
                        # compilation (~0.1 s) costs more than it ever saves on these queries.
                        "jit": "off",
                    }
                },
            )

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        if not self.is_sqlite:
            async with self.writer.begin() as conn:
                yield conn
            return
        # SQLite has one writer connection: it stays checked out, and writers take turns on
        # it (in arrival order), which saves a pool checkout and checkin per transaction.
        async with self._turn_to_write():
            kept = self._write_conn
            if kept is None or kept.closed or kept.invalidated:
                kept = self._write_conn = await self.writer.connect()
            conn = kept
            try:
                async with conn.begin():
                    yield conn
            except BaseException:
                # Whatever went wrong, the next writer starts from a fresh connection.
                self._write_conn = None
                await asyncio.shield(conn.close())
                raise

    @asynccontextmanager
    async def _turn_to_write(self) -> AsyncIterator[None]:
        """SQLite's write turn, waited for at most ``pool_timeout`` (the queue is full then)."""
        try:
            async with asyncio.timeout(self.pool_timeout):
                asked = time.monotonic()
                await self._write_turn.acquire()
                self._waited(asked)
        except TimeoutError:
            raise DatabaseBusy(
                f"no turn on the SQLite writer within {self.pool_timeout:g} s"
            ) from None
        try:
            yield
        finally:
            self._write_turn.release()

    @asynccontextmanager
    async def write_one(self) -> AsyncIterator[AsyncConnection]:
        """A write that is a single statement: atomic by itself, so on PostgreSQL it runs
        without the BEGIN and COMMIT round trips (SQLite: the same as :meth:`write`)."""
        if self.is_sqlite:
            async with self.write() as conn:
                yield conn
            return
        async with self.reader.connect() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            yield conn

    async def read_row(self, postgres_sql: str, sqlite_sql: str, *args: Any) -> Any:
        """One row of a hot point read, run through the driver with SQL written once per
        process: no statement building, compilation or result processing per call (about half
        the CPU of a one-row read through SQLAlchemy). ``$n`` placeholders on PostgreSQL, ``?``
        on SQLite; times as :meth:`stored_time` gives them."""
        async with self.driver_read() as driver:
            return await driver.fetch_row(postgres_sql, sqlite_sql, args)

    def stored_time(self, moment: datetime) -> Any:
        """``moment`` as a ``UTCDateTime`` column stores it (naive UTC; text on SQLite), for
        :meth:`read_row`."""
        naive = moment.astimezone(UTC).replace(tzinfo=None)
        return naive.isoformat(sep=" ", timespec="microseconds") if self.is_sqlite else naive

    def _waited(self, asked: float) -> None:
        now = time.monotonic()
        self._last_wait = (now - asked, now)

    @property
    def queue_delay(self) -> float:
        """How long the latest writer waited for its turn (SQLite) or a hot statement for a
        connection (PostgreSQL), in seconds, if that was within the last second (else 0): the
        database's queue, which admission control keeps short (web/admission.py)."""
        wait, at = self._last_wait
        return wait if time.monotonic() - at < 1.0 else 0.0

    @property
    def sqlalchemy_dialect(self) -> SQLAlchemyDialect:
        """SQLAlchemy's dialect, which compiles the driver's statements (``self.dialect`` is
        the stores' view of the database, store/dialect.py)."""
        return self.writer.dialect

    @asynccontextmanager
    async def driver_write(self, *, one_statement: bool = False) -> AsyncIterator[DriverConnection]:
        """A write transaction of hot statements run through the driver (store/driver_sql.py):
        SQLite's writer connection in its turn (``BEGIN IMMEDIATE`` ... ``COMMIT``), or a
        connection of the PostgreSQL driver's pool. ``one_statement``: a single statement,
        atomic by itself, which on PostgreSQL then runs without BEGIN and COMMIT round trips.
        :meth:`DriverConnection.abort` rolls the transaction back instead of committing it."""
        if self.is_sqlite:
            async with self._turn_to_write():
                inline = await self._sqlite_writer()
                driver = SqliteDriver(self.sqlalchemy_dialect, inline)
                await driver.run_plain("BEGIN IMMEDIATE")
                try:
                    yield driver
                except BaseException:
                    await self._sqlite_rollback(driver)
                    raise
                await (
                    self._sqlite_rollback(driver) if driver.aborted else driver.run_plain("COMMIT")
                )
            return
        async with self._postgres_connection() as conn:
            pg = PostgresDriver(self.sqlalchemy_dialect, conn)
            if one_statement:
                yield pg
                return
            transaction = conn.transaction()
            await transaction.start()
            try:
                yield pg
            except BaseException:
                await transaction.rollback()
                raise
            await (transaction.rollback() if pg.aborted else transaction.commit())

    async def driver_of(self, conn: AsyncConnection) -> DriverConnection:
        """The driver of a SQLAlchemy connection, to run hot statements in its transaction."""
        raw = (await conn.get_raw_connection()).driver_connection
        if self.is_sqlite:
            return SqliteDriver(self.sqlalchemy_dialect, raw)
        return PostgresDriver(self.sqlalchemy_dialect, raw)

    @asynccontextmanager
    async def driver_read(self) -> AsyncIterator[DriverConnection]:
        """Hot point reads through the driver: one of a few SQLite reader connections kept for
        them, or a connection of the PostgreSQL driver's pool."""
        if not self.is_sqlite:
            async with self._postgres_connection() as conn:
                yield PostgresDriver(self.sqlalchemy_dialect, conn)
            return
        inline = (
            self._sqlite_readers.pop()
            if self._sqlite_readers
            else await sqlite_inline.reader(self.url.database or ":memory:")
        )
        try:
            yield SqliteDriver(self.sqlalchemy_dialect, inline)
        finally:
            if len(self._sqlite_readers) < _SQLITE_READERS_KEPT:
                self._sqlite_readers.append(inline)
            else:
                await inline.close()

    async def _sqlite_writer(self) -> sqlite_inline.InlineSqliteConnection:
        kept = self._write_conn
        if kept is None or kept.closed or kept.invalidated:
            kept = self._write_conn = await self.writer.connect()
        if self._write_driver is None or self._write_driver[0] is not kept:
            raw = await kept.get_raw_connection()
            assert isinstance(raw.driver_connection, sqlite_inline.InlineSqliteConnection)
            self._write_driver = (kept, raw.driver_connection)
        return self._write_driver[1]

    async def _sqlite_rollback(self, driver: SqliteDriver) -> None:
        try:
            if driver.connection.raw.in_transaction:
                await driver.run_plain("ROLLBACK")
        except BaseException:
            # The next writer starts from a fresh connection, as after a failed SQLAlchemy write.
            conn, self._write_conn = self._write_conn, None
            if conn is not None:
                await asyncio.shield(conn.close())
            raise

    @asynccontextmanager
    async def _postgres_connection(self) -> AsyncIterator[asyncpg.Connection]:
        pool = self._pg_pool or await self._open_postgres_pool()
        try:
            asked = time.monotonic()
            conn = await pool.acquire(timeout=self.pool_timeout)
            self._waited(asked)
        except TimeoutError:
            raise DatabaseBusy(f"no database connection within {self.pool_timeout:g} s") from None
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise as_sqlalchemy_error("connect", error) from error
        try:
            yield conn
        finally:
            await pool.release(conn)

    async def _open_postgres_pool(self) -> asyncpg.Pool:
        async with self._pg_pool_opening:
            if self._pg_pool is None:
                dsn = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
                try:
                    self._pg_pool = await asyncpg.create_pool(
                        dsn,
                        min_size=1,
                        max_size=2 * self._pool_size,
                        init=setup_postgres_connection,
                        reset=no_reset,
                        server_settings={"application_name": "failover-otp"},
                    )
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                    raise as_sqlalchemy_error("connect", error) from error
            return self._pg_pool

    @asynccontextmanager
    async def scan(self) -> AsyncIterator[AsyncConnection]:
        """A read that may visit many rows (list and search pages): on SQLite it runs on a
        thread of its own, so a long query never holds up the event loop."""
        async with self.scanner.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        if self._write_conn is not None:
            conn, self._write_conn = self._write_conn, None
            await conn.close()
        while self._sqlite_readers:
            await self._sqlite_readers.pop().close()
        if self._pg_pool is not None:
            pool, self._pg_pool = self._pg_pool, None
            await pool.close()
        await self.writer.dispose()
        if self.is_sqlite:
            await self.reader.dispose()
        await self.scanner.dispose()


def _begin_immediate(conn: Any) -> None:
    driver = conn.connection.driver_connection
    if isinstance(driver, sqlite_inline.InlineSqliteConnection):
        driver.execute_now("BEGIN IMMEDIATE")  # without a statement's worth of SQLAlchemy
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_deferred(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def engine_for(url: str, *, exclusive: bool = False) -> AsyncEngine:
    """A plain engine, for one-off work such as migrations.

    ``exclusive`` makes SQLite transactions take the write lock when they begin, so that
    concurrent processes (several ``migrate`` runs) queue instead of acting on a stale read.
    """
    parsed = async_url(url)
    engine = create_async_engine(parsed, poolclass=NullPool)
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_file(parsed)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        begin = _begin_immediate if exclusive else _begin_deferred
        event.listen(engine.sync_engine, "begin", begin)
    return engine
