"""Hot statements run through the database driver, compiled by SQLAlchemy once per process.

A statement executed through SQLAlchemy's async engine goes through its execution layers on every
call (greenlet hand-offs, the compiled cache's look-up, the execution context, result
processing): about half the CPU of a one-row statement, and a quarter of a send's. The
statements the service runs on every send and read are instead compiled once per dialect into
SQL text, the order of their parameters and the type conversions SQLAlchemy would apply
(:class:`DriverStatement`), and run through ``sqlite3`` or ``asyncpg`` directly
(:meth:`failover_otp.store.database.Database.run`). SQLAlchemy stays the source of every
statement, so both databases keep one definition of each.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import asyncpg
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

Processor = Callable[[Any], Any] | None

# Driver errors of a lost or unusable connection (the database's availability, not a bug).
_LOST_CONNECTION = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    ConnectionError,
    OSError,
)


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement as one dialect's driver takes it."""

    sql: str
    names: tuple[str, ...]
    binders: tuple[Processor, ...]
    defaults: Mapping[str, Any]
    results: tuple[Processor, ...]

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """The positional arguments for ``params`` (named as the statement's bind parameters),
        converted as SQLAlchemy would convert them."""
        values = []
        defaults = self.defaults
        for name, binder in zip(self.names, self.binders, strict=True):
            value = params[name] if name in params else defaults[name]
            values.append(binder(value) if binder is not None and value is not None else value)
        return tuple(values)

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        """A result row converted as SQLAlchemy would convert it (SQLite's text times and
        JSON, PostgreSQL's JSON...)."""
        return tuple(
            p(v) if p is not None and v is not None else v
            for p, v in zip(self.results, raw, strict=True)
        )


_Key = tuple[int, str, tuple[str, ...] | None]
_COMPILED: dict[_Key, tuple[ClauseElement, DriverStatement]] = {}


def compiled(
    statement: ClauseElement, dialect: Dialect, columns: tuple[str, ...] | None = None
) -> DriverStatement:
    """``statement`` compiled for ``dialect``'s driver, once per process (kept by identity:
    pass statements built once, module-level or cached by shape). ``columns``: the columns an
    ``insert()`` or ``update()`` without values sets (the keys its parameters will have)."""
    key = (id(statement), dialect.name, columns)
    found = _COMPILED.get(key)
    if found is not None and found[0] is statement:
        return found[1]
    done = _compile(statement, dialect, columns)
    _COMPILED[key] = (statement, done)
    return done


def _compile(
    statement: ClauseElement, dialect: Dialect, columns: tuple[str, ...] | None
) -> DriverStatement:
    comp: Any = statement.compile(
        dialect=dialect, column_keys=list(columns) if columns is not None else None
    )
    names = tuple(comp.positiontup or ())
    processors = comp._bind_processors
    binds = comp.binds
    defaults: dict[str, Any] = {}
    for name in names:
        bind = binds.get(name)
        if bind is not None and not bind.required:
            defaults[name] = bind.value
    # Python-side column defaults that SQLAlchemy would fill in (an insert that leaves out a
    # column with a scalar default).
    for column in [*comp.insert_prefetch, *comp.update_prefetch]:
        default = column.default if column in comp.insert_prefetch else column.onupdate
        if default is None or not default.is_scalar:
            raise ValueError(f"{column} has a default the driver path cannot compute")
        defaults[column.key] = default.arg
    results = [_result_processor(column.type, dialect) for column in comp._result_columns]
    return DriverStatement(
        sql=comp.string,
        names=names,
        binders=tuple(processors.get(n) for n in names),
        defaults=defaults,
        results=tuple(results),
    )


def _result_processor(column_type: Any, dialect: Dialect) -> Processor:
    try:
        processor: Processor = column_type._cached_result_processor(dialect, None)
    except TypeError:
        # asyncpg's numeric types pick their conversion by the column's type oid; the driver
        # already gives a float column as a float.
        return None
    return processor


def as_sqlalchemy_error(sql: str, error: BaseException) -> BaseException:
    """A driver's error as SQLAlchemy would have raised it, so that the service tells a
    database that cannot serve now (503) from a bug (500) as for any other statement."""
    if isinstance(error, (asyncpg.PostgresError, sqlite3.Error, *_LOST_CONNECTION)):
        return sqlalchemy_exc.DBAPIError(
            sql,
            None,
            error,
            connection_invalidated=isinstance(error, _LOST_CONNECTION),
        )
    return error


class DriverConnection:
    """One connection's driver, running :class:`DriverStatement`s (see :meth:`Database.driver`)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.aborted = False

    def abort(self) -> None:
        """Roll the transaction back when it ends, instead of committing it."""
        self.aborted = True

    def prepare(
        self, statement: ClauseElement, columns: tuple[str, ...] | None = None
    ) -> DriverStatement:
        return compiled(statement, self.dialect, columns)

    async def execute(
        self,
        statement: ClauseElement,
        params: Mapping[str, Any],
        *,
        columns: tuple[str, ...] | None = None,
    ) -> int:
        """Run a write; the number of rows it changed."""
        done = self.prepare(statement, columns)
        try:
            return await self._execute(done.sql, done.arguments(params))
        except Exception as error:
            _reraise(done.sql, error)

    async def fetch(
        self, statement: ClauseElement, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """Run a query (or a write with RETURNING); its rows, converted."""
        done = self.prepare(statement)
        try:
            rows = await self._fetch(done.sql, done.arguments(params))
        except Exception as error:
            _reraise(done.sql, error)
        return [done.row(r) for r in rows]

    async def fetch_row(self, postgres_sql: str, sqlite_sql: str, args: tuple[Any, ...]) -> Any:
        """The first row of SQL written by hand for each database (unconverted), or None."""
        sql = sqlite_sql if self.dialect.name == "sqlite" else postgres_sql
        try:
            return await self._fetch_row(sql, args)
        except Exception as error:
            _reraise(sql, error)

    # What each driver does: SQL and positional arguments in, its own rows out.
    async def _execute(self, sql: str, args: tuple[Any, ...]) -> int:
        raise NotImplementedError

    async def _fetch(self, sql: str, args: tuple[Any, ...]) -> Sequence[Sequence[Any]]:
        raise NotImplementedError

    async def _fetch_row(self, sql: str, args: tuple[Any, ...]) -> Any:
        raise NotImplementedError


def _reraise(sql: str, error: Exception) -> NoReturn:
    """``error`` as SQLAlchemy would have raised it (a driver's), else as it is."""
    wrapped = as_sqlalchemy_error(sql, error)
    if wrapped is error:
        raise error
    raise wrapped from error


class SqliteDriver(DriverConnection):
    def __init__(self, dialect: Dialect, connection: Any) -> None:
        super().__init__(dialect)
        self.connection = connection  # sqlite_inline.InlineSqliteConnection

    async def run_plain(self, sql: str) -> None:
        """``sql`` without parameters (BEGIN, COMMIT, ROLLBACK)."""
        try:
            await self.connection.call(self.connection.raw.execute, sql)
        except sqlite3.Error as error:
            raise as_sqlalchemy_error(sql, error) from error

    async def _execute(self, sql: str, args: tuple[Any, ...]) -> int:
        conn = self.connection
        cursor = await conn.call(conn.raw.execute, sql, args)
        count: int = cursor.rowcount
        return count

    async def _fetch(self, sql: str, args: tuple[Any, ...]) -> Sequence[Sequence[Any]]:
        conn = self.connection
        rows: list[Any] = await conn.call(lambda: conn.raw.execute(sql, args).fetchall())
        return rows

    async def _fetch_row(self, sql: str, args: tuple[Any, ...]) -> Any:
        conn = self.connection
        return await conn.call(lambda: conn.raw.execute(sql, args).fetchone())


class PostgresDriver(DriverConnection):
    def __init__(self, dialect: Dialect, connection: asyncpg.Connection) -> None:
        super().__init__(dialect)
        self.connection = connection

    async def _execute(self, sql: str, args: tuple[Any, ...]) -> int:
        status: str = await self.connection.execute(sql, *args)
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def _fetch(self, sql: str, args: tuple[Any, ...]) -> Sequence[Sequence[Any]]:
        rows: list[Any] = await self.connection.fetch(sql, *args)
        return rows

    async def _fetch_row(self, sql: str, args: tuple[Any, ...]) -> Any:
        return await self.connection.fetchrow(sql, *args)


async def setup_postgres_connection(connection: asyncpg.Connection) -> None:
    """JSON in and out as SQLAlchemy's asyncpg dialect has it: text in, parsed out."""
    await connection.set_type_codec(
        "json", encoder=lambda s: s, decoder=json.loads, schema="pg_catalog", format="text"
    )


async def no_reset(_connection: asyncpg.Connection) -> None:
    """asyncpg's pool runs ``RESET ALL`` and more on every release unless told otherwise: the
    service leaves no session state behind, so the round trip buys nothing."""
