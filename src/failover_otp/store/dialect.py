"""The one place that knows SQLite from PostgreSQL, for the SQL the stores write.

Every store writes one statement for both databases; where they differ, it asks its database's
:class:`Dialect` (``db.dialect``, or :func:`dialect_of` a connection):

- upserts: each dialect's ``INSERT ... ON CONFLICT`` (:meth:`Dialect.insert`), built once per
  process (:meth:`Dialect.once`);
- calendar days and durations of timestamps (:meth:`Dialect.day_of`, :meth:`seconds_between`);
- writes of several rows as one statement (``one_statement_writes``: PostgreSQL runs a flow's
  create or save as one ``WITH ... INSERT/UPDATE ... RETURNING`` statement, with the foreign
  keys checked at its end; SQLite has no data-modifying CTEs, and its writes run on the event
  loop in microseconds, so a transaction of small statements costs it nothing);
- shapes for the query planner: SQLite plans without statistics (``plans_without_statistics``),
  so a few listings state a condition in the shape it runs well (same rows either way):
  :meth:`unindexed` and :meth:`flows_with_step`.

``RETURNING`` and ``FOR UPDATE SKIP LOCKED`` need no branch: both databases return rows from an
``UPDATE`` (SQLite since 3.35), and SQLite, whose one writer makes every claim exclusive, is
compiled without the lock clause. The engines themselves (SQLite's writer and inline readers,
PostgreSQL's pools) are ``store/database.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, exists, extract, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from failover_otp.store.tables import flows, steps


class Dialect:
    """What the stores' SQL needs to know of one database (see the module's notes)."""

    name: str
    one_statement_writes: bool
    # Serialise schema migrations with an advisory lock (SQLite's write lock does it alone).
    advisory_locks: bool
    # A database file beside which free disk space matters (readiness).
    is_file: bool
    # ``LIKE`` already ignores the case of ASCII letters (SQLite's; and only theirs, as its
    # ``lower()`` does): a case-insensitive match needs no ``lower()`` per row.
    like_ignores_case: bool
    # The planner knows nothing of how many rows match: a listing counts (boundedly) before it
    # picks a shape, where PostgreSQL's statistics pick for it.
    plans_without_statistics: bool

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def once(self, key: str, build: Callable[[Dialect], Any]) -> Any:
        """The statement ``key``, built by ``build(self)`` on first use, then kept: building a
        statement per call (its values bound as literals) cost more than running it."""
        statement = self._built.get(key)
        if statement is None:
            statement = self._built[key] = build(self)
        return statement

    def insert(self, table: Table) -> Any:
        """The dialect's ``insert`` (it has ``on_conflict_do_nothing``/``_do_update``)."""
        raise NotImplementedError

    def day_of(self, column: Any) -> ColumnElement[str]:
        """The UTC calendar day of a timestamp column as ``YYYY-MM-DD`` text."""
        raise NotImplementedError

    def seconds_between(self, start: Any, end: Any) -> ColumnElement[Any]:
        raise NotImplementedError

    def unindexed(self, column: Any) -> Any:
        """``column`` as the planner should not pick an index for (filtering or ordering)."""
        return column

    def flows_with_step(
        self, application_id: str, condition: ColumnElement[bool], *, common: bool = False
    ) -> ColumnElement[bool]:
        """The flow (of ``application_id``) has a step meeting ``condition``; ``common`` says
        that many of the application's steps may meet it."""
        return exists(
            select(steps.c.idx).where(
                steps.c.flow_id == flows.c.id, steps.c.application_id == application_id, condition
            )
        )


class PostgreSQL(Dialect):
    name = "postgresql"
    one_statement_writes = True
    advisory_locks = True
    is_file = False
    like_ignores_case = False
    plans_without_statistics = False

    def insert(self, table: Table) -> Any:
        return postgresql.insert(table)

    def day_of(self, column: Any) -> ColumnElement[str]:
        return func.to_char(column, "YYYY-MM-DD")

    def seconds_between(self, start: Any, end: Any) -> ColumnElement[Any]:
        return extract("epoch", end - start)


class SQLite(Dialect):
    name = "sqlite"
    one_statement_writes = False
    advisory_locks = False
    is_file = True
    like_ignores_case = True
    plans_without_statistics = True

    def insert(self, table: Table) -> Any:
        return sqlite.insert(table)

    def day_of(self, column: Any) -> ColumnElement[str]:
        return func.strftime("%Y-%m-%d", column)

    def seconds_between(self, start: Any, end: Any) -> ColumnElement[Any]:
        return (func.julianday(end) - func.julianday(start)) * 86400.0

    def unindexed(self, column: Any) -> Any:
        # An expression of the column is no index's: SQLite then takes the index of another
        # condition (a number's, an id's: few rows), and sorts those few.
        return func.coalesce(column, column)

    def flows_with_step(
        self, application_id: str, condition: ColumnElement[bool], *, common: bool = False
    ) -> ColumnElement[bool]:
        if common:
            # Each flow's own steps are probed (primary key), newest flow first, which stops as
            # soon as the page (or the count's limit) is full. Given the application too, SQLite
            # would take an (application_id, ...) index and visit all of its steps every time.
            return exists(select(steps.c.idx).where(steps.c.flow_id == flows.c.id, condition))
        # SQLite runs a correlated EXISTS once per flow, through whichever index it likes best:
        # with (application_id, ...) it would scan all of the application's steps for every
        # flow (minutes on 100,000 flows). Its steps are found once instead, and the flows by
        # their primary key (the same set: a step belongs to its flow's application).
        return flows.c.id.in_(
            select(steps.c.flow_id).where(steps.c.application_id == application_id, condition)
        )


POSTGRESQL = PostgreSQL()
SQLITE = SQLite()
_BY_NAME: dict[str, Dialect] = {d.name: d for d in (POSTGRESQL, SQLITE)}


def dialect_named(name: str) -> Dialect:
    """The dialect of a SQLAlchemy backend name (``postgres`` is PostgreSQL's other name)."""
    return _BY_NAME["postgresql" if name == "postgres" else name]


def dialect_of(conn: AsyncConnection | Connection) -> Dialect:
    return _BY_NAME[conn.dialect.name]
