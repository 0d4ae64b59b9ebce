"""The listings, one engine for the three: the OTP API's deliveries (``GET /otp/failover``, a row
per step), the tracking search (``POST /failover/tracking``) and the dashboard's flows table.

They share the filters (``store/listing_filters.py``), the mapping of rows to records
(``store/rows.py``) and the paging (``store/paging.py``): matches counted no further than a limit,
then offset pages for the APIs, keyset pages on ``(created_at, id)`` for the table (the page at a
date, or the 200th page, costs what the first does). Every query runs through
``Database.scan()``: on SQLite on a thread of its own, on PostgreSQL on a pool apart from the one
sends use, so a slow filter never holds up the event loop or a send.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import and_, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from failover_otp.domain.listing import (
    Cursor,
    Delivery,
    DeliveryFilter,
    SearchField,
    SearchOperator,
    TableFilter,
    TablePage,
    TrackingQuery,
)
from failover_otp.domain.records import FlowRecord
from failover_otp.store.database import Database
from failover_otp.store.delivery_counts import count_deliveries
from failover_otp.store.filter_probe import nothing_matches
from failover_otp.store.listing_filters import (
    contains,
    created_within,
    id_prefix,
    step_shown_as,
    tracking_condition,
)
from failover_otp.store.paging import PageWindow, bounded_count, page_window
from failover_otp.store.rows import records_in_order, step_from_row
from failover_otp.store.tables import UTCDateTime, flows, steps

# Matches counted for the table's "N flows" (more shows as "more than N").
COUNT_LIMIT = 10_000
# On SQLite, a step status held by at most this many of the application's steps is found
# through its index first; a common one by testing each flow's own steps, newest first, which
# stops as soon as the page (or the count's limit) is full.
FEW_STEPS = 20_000


class ListingStore:
    def __init__(self, db: Database, *, few_steps: int = FEW_STEPS) -> None:
        self.db = db
        self.dialect = db.dialect
        self.few_steps = few_steps

    # -- deliveries --------------------------------------------------------------------------

    async def deliveries(
        self, where: DeliveryFilter, *, limit: int, offset: int, count_limit: int = 0
    ) -> tuple[int, list[Delivery]]:
        """Steps (deliveries) newest first, with their flow's status, and the total count.

        With ``count_limit`` the count stops after ``count_limit + 1`` matches (a total above
        the limit means "more than that") and only the first ``count_limit`` can be paged
        through, as in :meth:`search`.
        """
        step_conditions: list[Any] = [steps.c.application_id == where.application_id]
        if where.flow_id:
            # One flow's steps: through the primary key. As a bare column the application would
            # lead SQLite to its (application_id, ...) indexes, i.e. to every step it has.
            step_conditions = [
                steps.c.flow_id == where.flow_id,
                func.coalesce(steps.c.application_id, "") == where.application_id,
            ]
        if where.step_status is not None:
            step_conditions.append(step_shown_as(where.step_status))
        if where.tag:
            step_conditions.append(contains(steps.c.label, where.tag, ignore_case=True))
        if where.phone and where.phone_whole:
            step_conditions.append(steps.c.phone == where.phone)
        elif where.phone:
            step_conditions.append(contains(steps.c.phone, where.phone))
        flow_conditions: list[Any] = []
        if where.flow_status is not None:
            flow_conditions.append(flows.c.status == where.flow_status)
        if where.kind is not None:
            flow_conditions.append(flows.c.kind == where.kind.value)
        joined = steps.join(flows, flows.c.id == steps.c.flow_id)
        condition = and_(*step_conditions, *flow_conditions)
        newest: Any = steps.c.created_at
        if where.phone and where.phone_whole:
            # Without statistics SQLite walks all of the application's steps in date order (to
            # skip a sort) testing each number; given the date as no index's, it takes the
            # number's: its few steps found at once, then sorted.
            newest = self.dialect.unindexed(newest)
        async with self.db.scan() as conn:
            if count_limit:
                matching = select(steps.c.flow_id).select_from(joined).where(condition)
                total = await _count(conn, bounded_count(matching, count_limit))
            else:
                total = await count_deliveries(
                    conn, self.dialect, where, step_conditions, flow_conditions
                )
            window = page_window(total, offset, limit, count_limit)
            if window is None:
                return total, []
            page = (
                select(steps, flows.c.status.label("flow_status"))
                .select_from(joined)
                .where(condition)
            )
            rows = await _page(conn, page, window, newest, steps.c.flow_id, steps.c.idx)
        return total, [
            Delivery(r["flow_id"], step_from_row(r), r["label"], r["flow_status"]) for r in rows
        ]

    # -- the tracking search -----------------------------------------------------------------

    async def search(self, query: TrackingQuery) -> tuple[int, list[FlowRecord]]:
        """(total matching flows, the requested page of them), newest first, the total counted
        up to ``query.count_limit`` (see :meth:`deliveries`)."""
        one_number = any(
            f.field is SearchField.TO and f.operator is SearchOperator.IS for f in query.filters
        )
        # One number's flows are few: they are best found through the number (its steps' flow
        # ids, then the flows by primary key) and sorted. Stated plainly, the application and the
        # date order lead SQLite's planner to walk all of the application's flows in date order
        # instead, testing each; as no index's, they leave it the number's index.
        application: Any = flows.c.application_id
        newest: Any = flows.c.created_at
        if one_number:
            application = self.dialect.unindexed(application)
            newest = self.dialect.unindexed(newest)
        conditions: list[ColumnElement[bool]] = [
            application == query.application_id,
            *created_within(flows.c.created_at, query.date_start, query.date_end),
            *(tracking_condition(self.dialect, query.application_id, f) for f in query.filters),
        ]
        where = and_(*conditions)
        async with self.db.scan() as conn:
            total = await _count(
                conn, bounded_count(select(flows.c.id).where(where), query.count_limit)
            )
            window = page_window(total, query.page * query.size, query.size, query.count_limit)
            if window is None:
                return total, []
            ids = [
                r["id"]
                for r in await _page(
                    conn, select(flows.c.id).where(where), window, newest, flows.c.id
                )
            ]
            return total, await _records(conn, ids)

    # -- the dashboard's flows table ---------------------------------------------------------

    async def table(
        self,
        where: TableFilter,
        *,
        size: int,
        count_limit: int = COUNT_LIMIT,
        older_than: Cursor | None = None,
        newer_than: Cursor | None = None,
    ) -> TablePage:
        """The ``size`` newest matches older than ``older_than`` (or the oldest ``size`` newer
        than ``newer_than``, or the very newest), with the cursors either side; the matches
        counted up to ``count_limit``."""
        async with self.db.scan() as conn:
            # A combination that matches nothing would walk every flow for its count.
            if await nothing_matches(conn, where, self.dialect):
                return TablePage(0, [], None, None)
            matching, newest = await self._table_condition(conn, where)
            total = await _count(
                conn, bounded_count(select(flows.c.id).where(matching), count_limit)
            )
            key = tuple_(newest, flows.c.id)
            if newer_than is not None:
                ids = await _keyset(
                    conn, matching, key > _key(newer_than), newest, size + 1, asc=True
                )
                more_newer = len(ids) > size
                ids = ids[:size][::-1]
                more_older = bool(ids) and await _any(conn, matching, key <= _key(newer_than))
            else:
                bound = key < _key(older_than) if older_than is not None else None
                ids = await _keyset(conn, matching, bound, newest, size + 1, asc=False)
                more_older = len(ids) > size
                ids = ids[:size]
                more_newer = older_than is not None and await _any(
                    conn, matching, key >= _key(older_than)
                )
            records = await _records(conn, [c.flow_id for c in ids])
        return TablePage.between(
            total,
            records,
            ids,
            more_newer=more_newer,
            more_older=more_older,
            older_than=older_than,
        )

    async def table_batches(
        self, where: TableFilter, *, size: int = 500
    ) -> AsyncIterator[list[FlowRecord]]:
        """Every match, newest first, ``size`` at a time: one short read per batch (no
        connection is held while the caller writes a batch out)."""
        async with self.db.scan() as conn:
            matching, newest = await self._table_condition(conn, where)
        key = tuple_(newest, flows.c.id)
        after: Cursor | None = None
        while True:
            async with self.db.scan() as conn:
                bound = key < _key(after) if after is not None else None
                ids = await _keyset(conn, matching, bound, newest, size, asc=False)
                records = await _records(conn, [c.flow_id for c in ids])
            if records:
                yield records
            if len(ids) < size:
                return
            after = ids[-1]

    async def _table_condition(
        self, conn: AsyncConnection, where: TableFilter
    ) -> tuple[ColumnElement[bool], Any]:
        """The table's filter as SQL, and the expression to order by."""
        app_id = where.application_id
        application: Any = flows.c.application_id
        newest: Any = flows.c.created_at
        if where.flow_id is not None:
            # Few flows match an id: found through the id indexes, then sorted. As plain columns
            # the application and the order would lead SQLite to walk all its flows instead.
            application = self.dialect.unindexed(application)
            newest = self.dialect.unindexed(newest)
        conditions: list[ColumnElement[bool]] = [
            application == app_id,
            *created_within(flows.c.created_at, where.created_from, where.created_to),
        ]
        if where.flow_status:
            conditions.append(flows.c.status == where.flow_status)
        if where.step_status:
            shown = step_shown_as(where.step_status)
            common = self.dialect.plans_without_statistics and not await self._few(
                conn, app_id, shown
            )
            conditions.append(self.dialect.flows_with_step(app_id, shown, common=common))
        if where.tag:
            label = contains(steps.c.label, where.tag, ignore_case=True)
            # No index finds a part of a label on SQLite: each flow's own steps are tested,
            # newest flow first, until the page (or the count's limit) is full.
            conditions.append(self.dialect.flows_with_step(app_id, label, common=True))
        if where.phone:
            conditions.append(contains(flows.c.phone, where.phone))
        if where.flow_id is not None:
            conditions.append(id_prefix(where.flow_id))
        return and_(*conditions), newest

    async def _few(
        self, conn: AsyncConnection, app_id: str, condition: ColumnElement[bool]
    ) -> bool:
        """Whether at most ``few_steps`` of the application's steps meet ``condition`` (counted
        through the (application_id, status) index, stopping past the limit)."""
        if self.few_steps <= 0:
            return False
        matching = select(steps.c.flow_id).where(steps.c.application_id == app_id, condition)
        return await _count(conn, bounded_count(matching, self.few_steps)) <= self.few_steps


async def _count(conn: AsyncConnection, query: Select[Any]) -> int:
    return int((await conn.execute(query)).scalar_one())


async def _page(
    conn: AsyncConnection, query: Select[Any], window: PageWindow, *order: Any
) -> list[Any]:
    """The rows of ``query`` in ``window``, newest first (ordered by ``order``)."""
    page = query.order_by(*window.order(*order)).limit(window.size).offset(window.skip)
    rows = list((await conn.execute(page)).mappings().all())
    if window.from_end:
        rows.reverse()
    return rows


async def _keyset(
    conn: AsyncConnection,
    matching: ColumnElement[bool],
    bound: ColumnElement[bool] | None,
    newest: Any,
    limit: int,
    *,
    asc: bool,
) -> list[Cursor]:
    """Up to ``limit`` matching flows past ``bound``, as positions (newest first unless
    ``asc``)."""
    where = matching if bound is None else and_(matching, bound)
    order = [newest.asc(), flows.c.id.asc()] if asc else [newest.desc(), flows.c.id.desc()]
    query = select(flows.c.id, flows.c.created_at).where(where).order_by(*order).limit(limit)
    return [Cursor(row.created_at, row.id) for row in (await conn.execute(query)).all()]


async def _any(
    conn: AsyncConnection, matching: ColumnElement[bool], bound: ColumnElement[bool]
) -> bool:
    query = select(literal(1)).select_from(flows).where(matching, bound).limit(1)
    return (await conn.execute(query)).first() is not None


def _key(cursor: Cursor) -> Any:
    return tuple_(literal(cursor.created_at, UTCDateTime), literal(cursor.flow_id))


async def _records(conn: AsyncConnection, ids: list[str]) -> list[FlowRecord]:
    """The flows of ``ids``, in that order, with their steps."""
    if not ids:
        return []
    flow_rows = (await conn.execute(select(flows).where(flows.c.id.in_(ids)))).mappings().all()
    step_rows = (await conn.execute(select(steps).where(steps.c.flow_id.in_(ids)))).mappings().all()
    return records_in_order(ids, flow_rows, step_rows)
