"""The daily rollups' counters computed from the flows and steps themselves (domain/rollups.py).

One definition in SQL, used three ways: to fill the stored rollups with every finished flow (the
migration's backfill, :func:`rebuild_statements`), to add the unfinished flows of a period when
the rollups are read (``RollupStore.read``), and to count a part of a day exactly where a range
does not start or end at midnight. ``tests/integration/test_rollups.py`` checks that what the
saves keep equals what this computes.

The two places the dialects differ (a timestamp's UTC day, the time between two timestamps) are
the dialect's (``store/dialect.py``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Delete,
    Insert,
    Integer,
    Select,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from failover_otp.domain.flow import FlowKind, Role
from failover_otp.domain.rollups import FLOW_FIELDS, LATENCY_BOUNDS_MS, STEP_FIELDS
from failover_otp.domain.statuses import Channel, FlowStatus, Outcome, StepStatus
from failover_otp.store.dialect import dialect_named
from failover_otp.store.tables import flow_rollups, flows, latency_rollups, step_rollups, steps

FINAL = tuple(s.value for s in FlowStatus if s.is_terminal)
UNFINISHED = tuple(s.value for s in FlowStatus if not s.is_terminal)
_SUCCESS = tuple(s.value for s in StepStatus if s.outcome is Outcome.SUCCESS)
_FAILURE = tuple(s.value for s in StepStatus if s.outcome is Outcome.FAILURE)
_EMPTY: ColumnElement[str] = literal_column("''")


def ms_between(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    """Whole milliseconds from ``start`` to ``end`` (rounded as ``domain/rollups.py`` does)."""
    seconds = dialect_named(dialect).seconds_between(start, end)
    return cast(func.round(seconds * 1000), Integer)


def _bucket(ms: ColumnElement[Any]) -> ColumnElement[Any]:
    """``latency_bucket`` in SQL: a binary search over the bounds as nested ``CASE``s, so a row
    evaluates about eight comparisons, not one per bound."""

    def between(low: int, high: int) -> ColumnElement[Any]:
        if low == high:
            return literal_column(str(low))
        middle = (low + high) // 2
        return case(
            (ms < literal_column(str(LATENCY_BOUNDS_MS[middle])), between(low, middle)),
            else_=between(middle + 1, high),
        )

    return between(0, len(LATENCY_BOUNDS_MS))


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def flow_rows(dialect: str, *where: ColumnElement[bool]) -> Select[Any]:
    """Per application, day, channel and country of the last step: ``FLOW_FIELDS`` of the
    flows ``where`` selects."""
    later = steps.alias("later")
    last = steps.alias("last_step")
    last_index = (
        select(func.max(later.c.idx))
        .where(later.c.flow_id == flows.c.id)
        .correlate(flows)
        .scalar_subquery()
    )
    failover = exists(
        select(later.c.idx).where(
            later.c.flow_id == flows.c.id, later.c.role == Role.FAILOVER.value
        )
    ).correlate(flows)
    sms_parts = (
        select(func.max(later.c.parts))
        .where(later.c.flow_id == flows.c.id, later.c.channel == Channel.SMS.value)
        .correlate(flows)
        .scalar_subquery()
    )
    day = dialect_named(dialect).day_of(flows.c.created_at).label("day")
    channel = func.coalesce(last.c.channel, _EMPTY).label("channel")
    country = func.coalesce(last.c.country, _EMPTY).label("country")
    otp = flows.c.kind == FlowKind.OTP.value
    columns = (
        func.count(),
        _count_if(otp),
        _count_if(and_(otp, flows.c.verified_at.is_not(None))),
        _count_if(flows.c.status == FlowStatus.SUCCEEDED.value),
        _count_if(flows.c.status == FlowStatus.FAILED.value),
        _count_if(failover),
        func.coalesce(func.sum(flows.c.total_cost), 0.0),
        func.coalesce(func.sum(func.coalesce(sms_parts, 1)), 0),
    )
    return (
        select(
            flows.c.application_id,
            day,
            channel,
            country,
            *(c.label(name) for c, name in zip(columns, FLOW_FIELDS, strict=True)),
        )
        .select_from(
            flows.outerjoin(last, and_(last.c.flow_id == flows.c.id, last.c.idx == last_index))
        )
        .where(*where)
        .group_by(flows.c.application_id, day, channel, country)
    )


def step_rows(dialect: str, *where: ColumnElement[bool]) -> Select[Any]:
    """Per application, day of the step's creation, channel and country: ``STEP_FIELDS`` of the
    steps ``where`` selects (it may name ``flows``: the steps are joined to their flow)."""
    day = dialect_named(dialect).day_of(steps.c.created_at).label("day")
    country = func.coalesce(steps.c.country, _EMPTY).label("country")
    columns = (
        func.count(),
        _count_if(steps.c.status.in_(_SUCCESS)),
        _count_if(steps.c.status.in_(_FAILURE)),
        _count_if(steps.c.price.is_not(None)),
        func.coalesce(func.sum(steps.c.price), 0.0),
    )
    return (
        select(
            steps.c.application_id,
            day,
            steps.c.channel,
            country,
            *(c.label(name) for c, name in zip(columns, STEP_FIELDS, strict=True)),
        )
        .select_from(steps.join(flows, flows.c.id == steps.c.flow_id))
        .where(*where)
        .group_by(steps.c.application_id, day, steps.c.channel, country)
    )


def latency_rows(dialect: str, *where: ColumnElement[bool]) -> Select[Any]:
    """Per application, day, channel, country and latency bucket: the delivered steps."""
    day = dialect_named(dialect).day_of(steps.c.created_at).label("day")
    country = func.coalesce(steps.c.country, _EMPTY).label("country")
    bucket = _bucket(ms_between(dialect, steps.c.sent_at, steps.c.delivered_at)).label("bucket")
    return (
        select(
            steps.c.application_id,
            day,
            steps.c.channel,
            country,
            bucket,
            func.count().label("deliveries"),
        )
        .select_from(steps.join(flows, flows.c.id == steps.c.flow_id))
        .where(steps.c.sent_at.is_not(None), steps.c.delivered_at.is_not(None), *where)
        .group_by(steps.c.application_id, day, steps.c.channel, country, bucket)
    )


def rebuild_sql(dialect: str) -> list[str]:
    """:func:`rebuild_statements` as SQL text for a driver connection (a bulk seeder's)."""
    from sqlalchemy.engine import make_url

    compiler = make_url("sqlite://" if dialect == "sqlite" else "postgresql://").get_dialect()()
    return [
        str(s.compile(dialect=compiler, compile_kwargs={"literal_binds": True}))
        for s in rebuild_statements(dialect)
    ]


def rebuild_statements(dialect: str) -> list[Delete | Insert]:
    """Empty the stored rollups and fill them with every finished flow (the migration's
    backfill; ``benchmarks/seed.py`` after a bulk seed)."""
    final = flows.c.status.in_(FINAL)
    return [
        delete(flow_rollups),
        delete(step_rollups),
        delete(latency_rollups),
        insert(flow_rollups).from_select(
            ["application_id", "day", "channel", "country", *FLOW_FIELDS],
            flow_rows(dialect, final),
        ),
        insert(step_rollups).from_select(
            ["application_id", "day", "channel", "country", *STEP_FIELDS],
            step_rows(dialect, final),
        ),
        insert(latency_rollups).from_select(
            ["application_id", "day", "channel", "country", "bucket", "deliveries"],
            latency_rows(dialect, final),
        ),
    ]
