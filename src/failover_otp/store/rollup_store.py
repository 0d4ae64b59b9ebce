"""The dashboard's daily rollups: kept by the saves that end a flow, read by the charts.

Why in the transaction that ends a flow rather than by a job with a watermark: a finished flow's
counters are final but for rare corrections (a late delivery report, a verified code), so the
writes are one small upsert per table and flow end, in a transaction that already happens
(the end settles the spend and scrubs the code, store/flow_store.py), and a read is exact at
once; a job would recompute whole days (a day of a busy application is the very scan the
rollups avoid) and lag behind its watermark. Unfinished flows are not stored: their counters
change with every report, and writing them would put a hot row on every send's path. A read adds
them from the flows themselves (``status`` is indexed with ``created_at``; they are few), and a
range that does not start or end at midnight has its partial days counted from the flows too.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, String, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from failover_otp.domain.flow import Flow, FlowKind
from failover_otp.domain.rollups import (
    FLOW_FIELDS,
    LATENCY_FIELDS,
    MONEY_FIELDS,
    STEP_FIELDS,
    Rollup,
    contribution,
    day_of,
)
from failover_otp.store.database import Database
from failover_otp.store.dialect import Dialect, dialect_of
from failover_otp.store.rollup_sql import FINAL, UNFINISHED, flow_rows, latency_rows, step_rows
from failover_otp.store.tables import (
    UTCDateTime,
    flow_rollups,
    flows,
    latency_rollups,
    step_rollups,
    steps,
)

_DAY = timedelta(days=1)
_TABLES: tuple[tuple[Table, tuple[str, ...], tuple[str, ...]], ...] = (
    (flow_rollups, ("day", "channel", "country"), FLOW_FIELDS),
    (step_rollups, ("day", "channel", "country"), STEP_FIELDS),
    (latency_rollups, ("day", "channel", "country", "bucket"), LATENCY_FIELDS),
)


def _upsert(conn: AsyncConnection, table: Table, fields: Sequence[str]) -> Any:
    """``INSERT ... ON CONFLICT DO UPDATE counter = counter + excluded.counter``, built once."""

    def build(dialect: Dialect) -> Any:
        stmt = dialect.insert(table)
        return stmt.on_conflict_do_update(
            index_elements=list(table.primary_key.columns),
            set_={f: table.c[f] + stmt.excluded[f] for f in fields},
        )

    return dialect_of(conn).once(f"{table.name}.add", build)


def _value(field: str, value: float) -> float | int:
    return round(value, 6) if field in MONEY_FIELDS else round(value)


async def apply_rollup(conn: AsyncConnection, application_id: str, delta: Rollup) -> None:
    """Add ``delta`` to the application's stored rollups, in the caller's transaction."""
    parts: tuple[dict[Any, list[float]], ...] = (delta.flows, delta.steps, delta.latency)
    for (table, keys, fields), part in zip(_TABLES, parts, strict=True):
        if not part:
            continue
        rows = [
            {
                "application_id": application_id,
                **dict(zip(keys, key, strict=True)),
                **{f: _value(f, v) for f, v in zip(fields, values, strict=True)},
            }
            for key, values in part.items()
        ]
        await conn.execute(_upsert(conn, table, fields), rows)


def rollup_change(old: Flow | None, new: Flow) -> Rollup:
    """What saving ``new`` over ``old`` changes in the stored rollups, its code's verification
    left aside (empty while the flow is unfinished, and for most saves of a finished one)."""
    before = contribution(old, verified=False) if old is not None else Rollup()
    return contribution(new, verified=False).minus(before)


async def roll_up(conn: AsyncConnection, old: Flow | None, new: Flow, change: Rollup) -> None:
    """Apply :func:`rollup_change` in the transaction that saves ``new``.

    A verified OTP flow counts as verified: ``flows.verified_at`` is read here, after the save's
    own update of the row, so a verification committed first is seen (on PostgreSQL the update
    waited for its row lock) and one committed later finds the flow final and counts itself
    (:func:`count_verified`)."""
    if new.kind is FlowKind.OTP:
        verified = (
            await conn.execute(select(flows.c.verified_at).where(flows.c.id == new.id))
        ).scalar_one_or_none() is not None
        if verified:
            before = contribution(old, verified=True) if old is not None else Rollup()
            change = contribution(new, verified=True).minus(before)
    await apply_rollup(conn, new.application_id, change)


async def count_verified(conn: AsyncConnection, flow_id: str) -> None:
    """In the transaction that sets ``flows.verified_at``: a finished flow's rollup row gains a
    verified code (an unfinished one is counted when it ends, by :func:`roll_up`)."""
    flow = (
        await conn.execute(
            select(flows.c.application_id, flows.c.status, flows.c.kind, flows.c.created_at).where(
                flows.c.id == flow_id
            )
        )
    ).first()
    if flow is None or flow.status not in FINAL or flow.kind != FlowKind.OTP.value:
        return
    last = (
        await conn.execute(
            select(steps.c.channel, steps.c.country)
            .where(steps.c.flow_id == flow_id)
            .order_by(steps.c.idx.desc())
            .limit(1)
        )
    ).first()
    channel, country = (last.channel, last.country or "") if last else ("", "")
    key = (day_of(flow.created_at), channel, country)
    change = Rollup()
    change.flows[key] = [0, 0, 1, 0, 0, 0, 0, 0]
    await apply_rollup(conn, flow.application_id, change)


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _add_rows(rollup: Rollup, flow: Sequence[Any], step: Sequence[Any], lat: Sequence[Any]) -> None:
    """Rows of ``store/rollup_sql.py`` (application id first) into ``rollup``."""
    part = Rollup()
    for r in flow:
        part.flows[(str(r[1]), str(r[2]), str(r[3]))] = [float(v or 0) for v in r[4:]]
    for r in step:
        part.steps[(str(r[1]), str(r[2]), str(r[3]))] = [float(v or 0) for v in r[4:]]
    for r in lat:
        part.latency[(str(r[1]), str(r[2]), str(r[3]), int(r[4]))] = [float(r[5] or 0)]
    rollup.add(part)


class RollupStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def read(self, application_id: str, since: datetime, until: datetime) -> Rollup:
        """The counters of the application's flows created in ``[since, until)`` (steps: created
        in it): whole days from the stored rollups plus the unfinished flows, the partial days at
        either end counted from the flows."""
        first, end = _midnight(since), _midnight(until)
        if first < since:
            first += _DAY
        rollup = Rollup()
        async with self.db.scan() as conn:
            if first >= end:
                await self._count(conn, rollup, application_id, since, until)
                return rollup
            await self._stored(conn, rollup, application_id, first, end)
            await self._unfinished(conn, rollup, application_id, first, end)
            if since < first:
                await self._count(conn, rollup, application_id, since, first)
            if end < until:
                await self._count(conn, rollup, application_id, end, until)
        return rollup

    async def _stored(
        self, conn: AsyncConnection, rollup: Rollup, app: str, first: datetime, end: datetime
    ) -> None:
        days = {
            "app": app,
            "first_day": first.strftime("%Y-%m-%d"),
            "end_day": end.strftime("%Y-%m-%d"),
        }
        found = [(await conn.execute(q, days)).all() for q in _stored_queries()]
        _add_rows(rollup, *found)

    async def _unfinished(
        self, conn: AsyncConnection, rollup: Rollup, app: str, first: datetime, end: datetime
    ) -> None:
        """Flows not yet final, driven by the ``(application_id, status, created_at)`` index;
        their steps through the flow (a step is created at most a day after its flow)."""
        bounds = {"app": app, "first": first, "end": end, "flows_from": first - _DAY}
        found = [
            (await conn.execute(q, bounds)).all() for q in _unfinished_queries(conn.dialect.name)
        ]
        _add_rows(rollup, *found)

    async def _count(
        self, conn: AsyncConnection, rollup: Rollup, app: str, since: datetime, until: datetime
    ) -> None:
        """Every flow (and step) of a part of a day, finished or not."""
        bounds = {"app": app, "first": since, "end": until}
        found = [(await conn.execute(q, bounds)).all() for q in _count_queries(conn.dialect.name)]
        _add_rows(rollup, *found)


# The read's statements, built once (the latency bucket alone is a few hundred nodes) with
# their values bound at each read.
_APP = bindparam("app", type_=String())
_FIRST = bindparam("first", type_=UTCDateTime())
_END = bindparam("end", type_=UTCDateTime())


@functools.cache
def _stored_queries() -> tuple[Select[Any], ...]:
    return tuple(
        select(table).where(
            table.c.application_id == _APP,
            table.c.day >= bindparam("first_day", type_=String()),
            table.c.day < bindparam("end_day", type_=String()),
        )
        for table, _, _ in _TABLES
    )


@functools.cache
def _unfinished_queries(dialect: str) -> tuple[Select[Any], ...]:
    own = (flows.c.application_id == _APP, flows.c.status.in_(UNFINISHED))
    their_steps = (
        *own,
        flows.c.created_at >= bindparam("flows_from", type_=UTCDateTime()),
        flows.c.created_at < _END,
        steps.c.created_at >= _FIRST,
        steps.c.created_at < _END,
    )
    return (
        flow_rows(dialect, *own, flows.c.created_at >= _FIRST, flows.c.created_at < _END),
        step_rows(dialect, *their_steps),
        latency_rows(dialect, *their_steps),
    )


@functools.cache
def _count_queries(dialect: str) -> tuple[Select[Any], ...]:
    step_range = (
        steps.c.application_id == _APP,
        steps.c.created_at >= _FIRST,
        steps.c.created_at < _END,
    )
    return (
        flow_rows(
            dialect,
            flows.c.application_id == _APP,
            flows.c.created_at >= _FIRST,
            flows.c.created_at < _END,
        ),
        step_rows(dialect, *step_range),
        latency_rows(dialect, *step_range),
    )
