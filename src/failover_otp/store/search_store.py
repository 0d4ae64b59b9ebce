"""The tracking search (``POST /failover/tracking``): one application's flows, filtered, paged.

Filters arrive already checked and normalised (see ``web/failover_search.py``); this module only
turns them into SQL. Every condition is scoped to the application, and each is an index range
scan or an ``EXISTS`` probe on an indexed column (migrations 0001 and 0002).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, exists, false, func, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from failover_otp.domain.flow import Flow
from failover_otp.domain.records import FlowMeta, FlowRecord
from failover_otp.domain.statuses import FlowStatus, StepStatus
from failover_otp.store.database import Database
from failover_otp.store.paging import bounded_count, page_window
from failover_otp.store.rows import flow_from_rows
from failover_otp.store.tables import flows, steps


class SearchField(StrEnum):
    TYPE = "type"
    TO = "to"
    STATUS = "status"
    TERMINATION_CHANNEL = "terminationChannel"


class SearchOperator(StrEnum):
    IS = "is"
    IS_NOT = "is_not"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"


@dataclass(frozen=True, slots=True)
class TrackingFilter:
    """One checked filter. ``term`` is canonical: a channel value (``sms``) for ``type``, a type
    name (``Sms``) for ``terminationChannel``, a flow status (``InProgress``, ``Queued``) for
    ``status``, and the digits of a number for ``to``."""

    field: SearchField
    operator: SearchOperator
    term: str


@dataclass(frozen=True, slots=True)
class TrackingQuery:
    application_id: str
    date_start: datetime | None = None  # inclusive
    date_end: datetime | None = None  # exclusive
    filters: tuple[TrackingFilter, ...] = field(default_factory=tuple)
    page: int = 0
    size: int = 10
    # Matches are counted up to this many (0: all); see SearchStore.search.
    count_limit: int = 0


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def step_exists(
    application_id: str, condition: ColumnElement[bool], *, sqlite: bool = False
) -> ColumnElement[bool]:
    if sqlite:
        # SQLite runs a correlated EXISTS once per flow, through whichever index it likes best:
        # with (application_id, ...) it would scan all of the application's steps for every
        # flow (minutes on 100,000 flows). Its steps are found once instead, and the flows by
        # their primary key (the same set: a step belongs to its flow's application).
        return flows.c.id.in_(
            select(steps.c.flow_id).where(steps.c.application_id == application_id, condition)
        )
    return exists(
        select(steps.c.idx).where(
            steps.c.flow_id == flows.c.id, steps.c.application_id == application_id, condition
        )
    )


def _positive(
    application_id: str, where: TrackingFilter, *, sqlite: bool = False
) -> ColumnElement[bool]:
    """The filter's condition with the operator's negation left out."""
    if where.field is SearchField.TYPE:
        return step_exists(application_id, steps.c.channel == where.term, sqlite=sqlite)
    if where.field is SearchField.TERMINATION_CHANNEL:
        return flows.c.termination_channel == where.term
    if where.field is SearchField.STATUS:
        return _status_condition(application_id, where.term, sqlite=sqlite)
    pattern = escape_like(where.term)
    phone: ColumnElement[bool]
    match where.operator:
        case SearchOperator.CONTAINS:
            phone = steps.c.phone.like(f"%{pattern}%", escape="\\")
        case SearchOperator.STARTS_WITH:
            phone = steps.c.phone.like(f"{pattern}%", escape="\\")
        case SearchOperator.ENDS_WITH:
            phone = steps.c.phone.like(f"%{pattern}", escape="\\")
        case _:
            phone = steps.c.phone == where.term
    return step_exists(application_id, phone, sqlite=sqlite)


def _status_condition(
    application_id: str, term: str, *, sqlite: bool = False
) -> ColumnElement[bool]:
    """Flow status as tracking renders it: ``Queued`` is an InProgress flow none of whose steps
    the provider has accepted or refused yet (see ``services.tracking.display_status``)."""
    in_progress = flows.c.status == FlowStatus.IN_PROGRESS.value
    answered: ColumnElement[bool]
    if sqlite:
        # Few flows are in progress: each one's own steps are checked (primary key), not every
        # answered step of the application first.
        answered = exists(
            select(steps.c.idx).where(
                steps.c.flow_id == flows.c.id, steps.c.status != StepStatus.SENDING.value
            )
        )
    else:
        answered = step_exists(application_id, steps.c.status != StepStatus.SENDING.value)
    if term == FlowStatus.QUEUED.value:
        return and_(in_progress, not_(answered))
    if term == FlowStatus.IN_PROGRESS.value:
        return and_(in_progress, answered)
    if term in (FlowStatus.SUCCEEDED.value, FlowStatus.FAILED.value):
        return flows.c.status == term
    return false()


def condition_for(
    application_id: str, where: TrackingFilter, *, sqlite: bool = False
) -> ColumnElement[bool]:
    """``where`` as SQL; ``sqlite`` picks the shapes SQLite's planner runs well (same rows)."""
    positive = _positive(application_id, where, sqlite=sqlite)
    if where.operator is not SearchOperator.IS_NOT:
        return positive
    if where.field is SearchField.TERMINATION_CHANNEL:
        # A flow still running has no termination channel, so it is not ended by this one.
        return or_(flows.c.termination_channel.is_(None), not_(positive))
    return not_(positive)


def _meta(row: Mapping[Any, Any]) -> FlowMeta:
    return FlowMeta(
        request=list(row["request"]),
        phone=row["phone"],
        label=row["label"],
        callback_url=row["callback_url"],
        callback_strategy=row["callback_strategy"],
    )


class SearchStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(self, query: TrackingQuery) -> tuple[int, list[FlowRecord]]:
        """(total matching flows, the requested page of them), newest first.

        With ``query.count_limit`` the count stops after ``count_limit + 1`` matches: a total
        above the limit means "more than ``count_limit``", and only the first ``count_limit``
        matches can be paged through (an exact count of a million rows costs hundreds of
        milliseconds, a bounded one a few; docs/benchmarks.md).
        """
        one_number = self.db.is_sqlite and any(
            f.field is SearchField.TO and f.operator is SearchOperator.IS for f in query.filters
        )
        # One number's flows are few: on SQLite they are found through the number (its steps'
        # flow ids, then the flows by primary key) and sorted. Stated plainly, the application
        # and the date order lead SQLite's planner to walk all of the application's flows in date
        # order instead, testing each; as expressions they leave it the number's index.
        application: Any = flows.c.application_id
        newest: Any = flows.c.created_at
        if one_number:
            application = func.coalesce(flows.c.application_id, "")
            newest = func.coalesce(flows.c.created_at, flows.c.created_at)
        conditions: list[ColumnElement[bool]] = [application == query.application_id]
        if query.date_start is not None:
            conditions.append(flows.c.created_at >= query.date_start)
        if query.date_end is not None:
            conditions.append(flows.c.created_at < query.date_end)
        conditions += [
            condition_for(query.application_id, f, sqlite=self.db.is_sqlite) for f in query.filters
        ]
        where = and_(*conditions)
        count = bounded_count(select(flows.c.id).where(where), query.count_limit)
        offset = query.page * query.size
        async with self.db.scan() as conn:
            total = int((await conn.execute(count)).scalar_one())
            window = page_window(total, offset, query.size, query.count_limit)
            if window is None:
                return total, []
            page = (
                select(flows.c.id)
                .where(where)
                .order_by(*window.order(newest, flows.c.id))
                .limit(window.size)
                .offset(window.skip)
            )
            ids = [row.id for row in (await conn.execute(page)).all()]
            if window.from_end:
                ids.reverse()
            if not ids:
                return total, []
            flow_rows = (
                (await conn.execute(select(flows).where(flows.c.id.in_(ids)))).mappings().all()
            )
            step_rows = (
                (await conn.execute(select(steps).where(steps.c.flow_id.in_(ids)))).mappings().all()
            )
        return total, records_in_order(ids, flow_rows, step_rows)


def records_in_order(
    ids: Sequence[str],
    flow_rows: Sequence[Mapping[Any, Any]],
    step_rows: Sequence[Mapping[Any, Any]],
) -> list[FlowRecord]:
    by_flow: defaultdict[str, list[Mapping[Any, Any]]] = defaultdict(list)
    for row in step_rows:
        by_flow[row["flow_id"]].append(row)
    rows = {row["id"]: row for row in flow_rows}
    records: list[FlowRecord] = []
    for flow_id in ids:
        if flow_id not in rows:
            continue  # cannot happen: flows are never deleted
        row = rows[flow_id]
        # The deadline is left out: tracking never shows it.
        flow: Flow = flow_from_rows(row, by_flow[flow_id], None)
        records.append(FlowRecord(flow, _meta(row)))
    return records
