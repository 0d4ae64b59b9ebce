"""The dashboard's flows table: one application's flows, filtered, newest first, paged by keyset.

The filters are the API's (a step's status, the flow's status, a label, a number, an id), built
from the tracking search's conditions (``search_store.step_exists``), so each is an index range
or an indexed probe. A page is a keyset range on ``(created_at, id)``, the
``(application_id, created_at, id)`` index: the page at a date, or the 200th page, costs what the
first does. The count stops at ``count_limit``. Every query runs through ``Database.scan()``: on
SQLite on a thread of its own, on PostgreSQL on a pool apart from the one sends use, so a slow
filter never holds up the event loop or a send (docs/operations.md#the-dashboard).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from failover_otp.domain.records import FlowRecord
from failover_otp.domain.statuses import StepStatus, stored_as
from failover_otp.store.database import Database
from failover_otp.store.filter_probe import nothing_matches
from failover_otp.store.paging import bounded_count
from failover_otp.store.search_store import escape_like, records_in_order, step_exists
from failover_otp.store.tables import UTCDateTime, flows, steps

# Matches counted for the table's "N flows" (more shows as "more than N").
COUNT_LIMIT = 10_000
# On SQLite, a step status held by at most this many of the application's steps is found
# through its index first; a common one by testing each flow's own steps, newest first, which
# stops as soon as the page (or the count's limit) is full.
FEW_STEPS = 20_000
# Flow ids and tracking ids are lowercase UUIDs: a prefix is a range of the unique index.
_ID_CHARS = "0123456789abcdef-"


@dataclass(frozen=True, slots=True)
class TableFilter:
    """The table's filters. ``tag`` is a case-insensitive partial match on a step's label (a
    flow's label is its first step's); ``phone`` a partial match on the destination's digits;
    ``flow_id`` a prefix of the flow's id or of one of its steps' tracking ids (the table shows
    the first 8 characters); ``created_from``/``created_to`` bound the creation time
    (inclusive, exclusive)."""

    application_id: str
    step_status: str | None = None
    flow_status: str | None = None
    tag: str | None = None
    phone: str | None = None
    flow_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in the newest-first order: a flow's creation time and id."""

    created_at: datetime
    flow_id: str = ""

    def encode(self) -> str:
        return f"{self.created_at.astimezone(UTC).strftime('%Y%m%dT%H%M%S.%fZ')}~{self.flow_id}"

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        when, _, flow_id = text.partition("~")
        try:
            at = datetime.strptime(when, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
        except ValueError:
            return None
        if len(flow_id) > 36 or any(c not in _ID_CHARS for c in flow_id):
            return None
        return cls(at, flow_id)


@dataclass(frozen=True, slots=True)
class TablePage:
    """Matches counted up to the limit, the page's flows newest first, and the cursors of the
    pages on either side (None: nothing there)."""

    total: int
    records: list[FlowRecord]
    newer: Cursor | None
    older: Cursor | None


_NEXT_HEX = dict(zip("0123456789abcde", "123456789abcdef", strict=True))


def prefix_range(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix`` (lowercase hex and dashes, as UUIDs are), as a range of
    its unique index: ``LIKE 'abc%'`` is none on SQLite (its LIKE ignores case, the index does
    not) nor on PostgreSQL outside the C collation. The upper end is the prefix with its last
    hex digit raised (``ab3f`` → ``ab4``), which orders the same under every collation: hex
    digits sort alike everywhere, and the dashes of UUIDs stand in the same places."""
    prefix = prefix.rstrip("-")
    lower: ColumnElement[bool] = column >= prefix
    digits = prefix
    while digits:
        last = digits[-1]
        if last in _NEXT_HEX:
            return and_(lower, column < digits[:-1] + _NEXT_HEX[last])
        digits = digits[:-1].rstrip("-")  # an "f" carries over
    return lower


class FlowTable:
    def __init__(
        self, db: Database, *, count_limit: int = COUNT_LIMIT, few_steps: int = FEW_STEPS
    ) -> None:
        self.db = db
        self.count_limit = count_limit
        self.few_steps = few_steps

    async def _conditions(
        self, conn: AsyncConnection, where: TableFilter
    ) -> tuple[list[ColumnElement[bool]], Any]:
        """The filter as SQL, and the expression to order by."""
        app_id, sqlite = where.application_id, self.db.is_sqlite
        application: Any = flows.c.application_id
        newest: Any = flows.c.created_at
        by_id = where.flow_id is not None
        if by_id and sqlite:
            # Few flows match an id: found through the id indexes, then sorted. As plain columns
            # the application and the order would lead SQLite to walk all its flows instead.
            application = func.coalesce(flows.c.application_id, "")
            newest = func.coalesce(flows.c.created_at, flows.c.created_at)
        conditions: list[ColumnElement[bool]] = [application == app_id]
        if where.created_from is not None:
            conditions.append(flows.c.created_at >= where.created_from)
        if where.created_to is not None:
            conditions.append(flows.c.created_at < where.created_to)
        if where.flow_status:
            conditions.append(flows.c.status == where.flow_status)
        if where.step_status:
            shown = stored_as(StepStatus(where.step_status))  # queued includes sends in flight
            in_shown = steps.c.status.in_(sorted(s.value for s in shown))
            if sqlite and not await self._few_steps(conn, app_id, in_shown):
                conditions.append(_own_step(in_shown))
            else:
                conditions.append(step_exists(app_id, in_shown, sqlite=sqlite))
        if where.tag:
            label = steps.c.label.ilike(f"%{escape_like(where.tag)}%", escape="\\")
            # SQLite has no index for a partial label: each flow's own steps are tested, newest
            # flow first, until the page (or the count's limit) is full.
            conditions.append(_own_step(label) if sqlite else step_exists(app_id, label))
        if where.phone:
            conditions.append(flows.c.phone.like(f"%{escape_like(where.phone)}%", escape="\\"))
        if where.flow_id is not None:
            prefix = where.flow_id.lower()
            tracking = select(steps.c.flow_id).where(prefix_range(steps.c.tracking_id, prefix))
            conditions.append(or_(prefix_range(flows.c.id, prefix), flows.c.id.in_(tracking)))
        return conditions, newest

    async def _few_steps(
        self, conn: AsyncConnection, app_id: str, condition: ColumnElement[bool]
    ) -> bool:
        """Whether at most ``FEW_STEPS`` of the application's steps meet ``condition`` (counted
        through the (application_id, status) index, stopping past the limit)."""
        matching = select(steps.c.flow_id).where(steps.c.application_id == app_id, condition)
        return (
            int((await conn.execute(bounded_count(matching, FEW_STEPS))).scalar_one()) <= FEW_STEPS
        )

    async def page(
        self,
        where: TableFilter,
        *,
        size: int,
        older_than: Cursor | None = None,
        newer_than: Cursor | None = None,
    ) -> TablePage:
        """The ``size`` newest matches older than ``older_than`` (or the oldest ``size`` newer
        than ``newer_than``, or the very newest), with the cursors either side."""
        async with self.db.scan() as conn:
            if await nothing_matches(conn, where, sqlite=self.db.is_sqlite):
                return TablePage(0, [], None, None)
            conditions, newest = await self._conditions(conn, where)
            key = tuple_(newest, flows.c.id)
            matching = and_(*conditions)
            total = int(
                (
                    await conn.execute(
                        bounded_count(select(flows.c.id).where(matching), self.count_limit)
                    )
                ).scalar_one()
            )
            if newer_than is not None:
                bound = key > _key(newer_than)
                ids = await self._ids(conn, matching, bound, newest, size + 1, asc=True)
                more_newer = len(ids) > size
                ids = ids[:size][::-1]
                more_older = bool(ids) and await self._any(conn, matching, key <= _key(newer_than))
            else:
                bound = key < _key(older_than) if older_than is not None else None
                ids = await self._ids(conn, matching, bound, newest, size + 1, asc=False)
                more_older = len(ids) > size
                ids = ids[:size]
                more_newer = older_than is not None and await self._any(
                    conn, matching, key >= _key(older_than)
                )
            records = await _load(conn, [i for i, _ in ids])
        newer = Cursor(ids[0][1], ids[0][0]) if ids and more_newer else None
        older = Cursor(ids[-1][1], ids[-1][0]) if ids and more_older else None
        if not ids and older_than is not None and more_newer:
            newer = older_than  # past the oldest match: the way back is still offered
        return TablePage(total, records, newer, older)

    async def batches(
        self, where: TableFilter, *, size: int = 500
    ) -> AsyncIterator[list[FlowRecord]]:
        """Every match, newest first, ``size`` at a time: one short read per batch (no
        connection is held while the caller writes a batch out)."""
        async with self.db.scan() as conn:
            conditions, newest = await self._conditions(conn, where)
        key = tuple_(newest, flows.c.id)
        matching = and_(*conditions)
        after: Cursor | None = None
        while True:
            async with self.db.scan() as conn:
                bound = key < _key(after) if after is not None else None
                ids = await self._ids(conn, matching, bound, newest, size, asc=False)
                records = await _load(conn, [i for i, _ in ids])
            if records:
                yield records
            if len(ids) < size:
                return
            after = Cursor(ids[-1][1], ids[-1][0])

    async def _ids(
        self,
        conn: AsyncConnection,
        matching: ColumnElement[bool],
        bound: ColumnElement[bool] | None,
        newest: Any,
        limit: int,
        *,
        asc: bool,
    ) -> list[tuple[str, datetime]]:
        where = matching if bound is None else and_(matching, bound)
        order = [newest.asc(), flows.c.id.asc()] if asc else [newest.desc(), flows.c.id.desc()]
        query = select(flows.c.id, flows.c.created_at).where(where).order_by(*order).limit(limit)
        return [(row.id, row.created_at) for row in (await conn.execute(query)).all()]

    async def _any(
        self, conn: AsyncConnection, matching: ColumnElement[bool], bound: ColumnElement[bool]
    ) -> bool:
        query = select(literal(1)).select_from(flows).where(matching, bound).limit(1)
        return (await conn.execute(query)).first() is not None


def _own_step(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """One of the flow's own steps meets ``condition``: a probe of the steps' primary key per
    flow (SQLite; given the application too, it would take an (application_id, ...) index and
    visit all of the application's steps for every flow)."""
    return exists(select(steps.c.idx).where(steps.c.flow_id == flows.c.id, condition))


def _key(cursor: Cursor) -> Any:
    return tuple_(literal(cursor.created_at, UTCDateTime), literal(cursor.flow_id))


async def _load(conn: AsyncConnection, ids: list[str]) -> list[FlowRecord]:
    if not ids:
        return []
    flow_rows = (await conn.execute(select(flows).where(flows.c.id.in_(ids)))).mappings().all()
    step_rows = (await conn.execute(select(steps).where(steps.c.flow_id.in_(ids)))).mappings().all()
    return records_in_order(ids, flow_rows, step_rows)
