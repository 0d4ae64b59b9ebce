"""The operator dashboard's read model: one application's recent flows and aggregates.

SQLAlchemy Core only, and every query runs unchanged on SQLite and PostgreSQL: the two places
where the dialects differ (the calendar day of a timestamp, the seconds between two) go through
:func:`day_of` and :func:`seconds_between`; medians use window functions (``ROW_NUMBER`` and
``COUNT(*) OVER``), which both have. Every query is scoped to one application and to a range of
creation times, so it runs on the ``(application_id, created_at, ...)`` indexes of migration 0001.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, extract, func, literal, literal_column, or_, select
from sqlalchemy.sql.elements import ColumnElement

from failover_otp.domain.flow import Role
from failover_otp.domain.statuses import Channel, FlowStatus, Outcome, StepStatus, stored_as
from failover_otp.store.database import Database
from failover_otp.store.flow_store import FlowMeta, FlowRecord
from failover_otp.store.rows import flow_from_rows
from failover_otp.store.tables import flows, steps

SUCCESS_STATUSES = tuple(s.value for s in StepStatus if s.outcome is Outcome.SUCCESS)
FAILURE_STATUSES = tuple(s.value for s in StepStatus if s.outcome is Outcome.FAILURE)


@dataclass(frozen=True, slots=True)
class FlowListFilter:
    """The list filters of the API (``GET /otp/failover``), applied to flows rather than steps.

    ``step_status`` keeps flows one of whose steps has it; ``tag`` is a case-insensitive partial
    match on the flow's or a step's label; ``phone`` a partial match on the destination's digits;
    ``flow_id`` the flow's id or any of its steps' tracking ids.
    """

    application_id: str
    step_status: str | None = None
    flow_status: str | None = None
    tag: str | None = None
    phone: str | None = None
    flow_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelDelivery:
    channel: str
    steps: int
    delivered: int
    failed: int

    @property
    def pending(self) -> int:
        return self.steps - self.delivered - self.failed


@dataclass(frozen=True, slots=True)
class DayFlows:
    """Flows created on one UTC day (``YYYY-MM-DD``)."""

    day: str
    flows: int
    succeeded: int
    failed: int
    in_progress: int
    failovers: int
    cost: float
    # Message parts an SMS-only flow would have paid for: the SMS step's parts, else 1.
    sms_parts: int


@dataclass(frozen=True, slots=True)
class DayChannelCost:
    day: str
    channel: str
    cost: float
    messages: int


@dataclass(frozen=True, slots=True)
class DeliveryLatency:
    """Median send-to-delivery time of delivered steps, in wall-clock seconds."""

    channel: str
    country: str
    median_seconds: float
    samples: int


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class StatsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- dialect differences -------------------------------------------------------------------

    def day_of(self, column: Any) -> ColumnElement[str]:
        """The UTC calendar day of a timestamp column as ``YYYY-MM-DD`` text."""
        if self.db.is_sqlite:
            return func.strftime("%Y-%m-%d", column)
        return func.to_char(column, "YYYY-MM-DD")

    def seconds_between(self, start: Any, end: Any) -> ColumnElement[Any]:
        if self.db.is_sqlite:
            return (func.julianday(end) - func.julianday(start)) * 86400.0
        return extract("epoch", end - start)

    # -- recent flows --------------------------------------------------------------------------

    def _flow_conditions(self, where: FlowListFilter) -> list[ColumnElement[bool]]:
        app_id = where.application_id

        def step_exists(condition: ColumnElement[bool]) -> ColumnElement[bool]:
            return exists(
                select(steps.c.idx).where(
                    steps.c.flow_id == flows.c.id, steps.c.application_id == app_id, condition
                )
            )

        conditions: list[ColumnElement[bool]] = [flows.c.application_id == app_id]
        if where.flow_status:
            conditions.append(flows.c.status == where.flow_status)
        if where.step_status:
            shown = stored_as(StepStatus(where.step_status))  # queued includes sends in flight
            conditions.append(step_exists(steps.c.status.in_(sorted(s.value for s in shown))))
        if where.tag:
            pattern = f"%{_escape_like(where.tag)}%"
            conditions.append(
                or_(
                    flows.c.label.ilike(pattern, escape="\\"),
                    step_exists(steps.c.label.ilike(pattern, escape="\\")),
                )
            )
        if where.phone:
            conditions.append(flows.c.phone.like(f"%{_escape_like(where.phone)}%", escape="\\"))
        if where.flow_id:
            conditions.append(
                or_(flows.c.id == where.flow_id, step_exists(steps.c.tracking_id == where.flow_id))
            )
        return conditions

    async def recent_flows(
        self, where: FlowListFilter, *, limit: int, offset: int = 0
    ) -> tuple[int, list[FlowRecord]]:
        """(flows matching, the newest ``limit`` of them after ``offset``) with their steps."""
        condition = and_(*self._flow_conditions(where))
        count = select(func.count()).select_from(flows).where(condition)
        page = (
            select(flows)
            .where(condition)
            .order_by(flows.c.created_at.desc(), flows.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self.db.read() as conn:
            total = int((await conn.execute(count)).scalar_one())
            flow_rows = (await conn.execute(page)).mappings().all()
            ids = [row["id"] for row in flow_rows]
            step_rows = (
                (await conn.execute(select(steps).where(steps.c.flow_id.in_(ids)))).mappings().all()
                if ids
                else []
            )
        return total, _records(flow_rows, step_rows)

    # -- aggregates ----------------------------------------------------------------------------

    async def channel_delivery(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[ChannelDelivery]:
        """Per channel: steps created in the range, how many succeeded, how many failed."""
        delivered = func.sum(case((steps.c.status.in_(SUCCESS_STATUSES), 1), else_=0))
        failed = func.sum(case((steps.c.status.in_(FAILURE_STATUSES), 1), else_=0))
        query = (
            select(steps.c.channel, func.count().label("n"), delivered, failed)
            .where(
                steps.c.application_id == application_id,
                steps.c.created_at >= since,
                steps.c.created_at < until,
            )
            .group_by(steps.c.channel)
            .order_by(steps.c.channel)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [ChannelDelivery(r[0], int(r[1]), int(r[2] or 0), int(r[3] or 0)) for r in rows]

    async def flows_per_day(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[DayFlows]:
        """Flows created per UTC day: outcomes, failovers, actual cost and SMS-only parts."""
        failover = exists(
            select(steps.c.idx).where(
                steps.c.flow_id == flows.c.id, steps.c.role == Role.FAILOVER.value
            )
        )
        sms_parts = (
            select(func.max(steps.c.parts))
            .where(steps.c.flow_id == flows.c.id, steps.c.channel == Channel.SMS.value)
            .scalar_subquery()
        )
        day = self.day_of(flows.c.created_at).label("day")

        def count_status(status: FlowStatus) -> Any:
            return func.sum(case((flows.c.status == status.value, 1), else_=0))

        query = (
            select(
                day,
                func.count(),
                count_status(FlowStatus.SUCCEEDED),
                count_status(FlowStatus.FAILED),
                func.sum(case((failover, 1), else_=0)),
                func.sum(flows.c.total_cost),
                func.sum(func.coalesce(sms_parts, literal(1))),
            )
            .where(
                flows.c.application_id == application_id,
                flows.c.created_at >= since,
                flows.c.created_at < until,
            )
            .group_by(day)
            .order_by(day)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        result = []
        for r in rows:
            total, succeeded, failed = int(r[1]), int(r[2] or 0), int(r[3] or 0)
            result.append(
                DayFlows(
                    day=str(r[0]),
                    flows=total,
                    succeeded=succeeded,
                    failed=failed,
                    in_progress=total - succeeded - failed,
                    failovers=int(r[4] or 0),
                    cost=float(r[5] or 0.0),
                    sms_parts=int(r[6] or 0),
                )
            )
        return result

    async def cost_per_day(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[DayChannelCost]:
        """What the provider charged, per UTC day and channel (steps without a price left out)."""
        day = self.day_of(steps.c.created_at).label("day")
        query = (
            select(day, steps.c.channel, func.sum(steps.c.price), func.count())
            .where(
                steps.c.application_id == application_id,
                steps.c.created_at >= since,
                steps.c.created_at < until,
                steps.c.price.is_not(None),
            )
            .group_by(day, steps.c.channel)
            .order_by(day, steps.c.channel)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [DayChannelCost(str(r[0]), r[1], float(r[2] or 0.0), int(r[3])) for r in rows]

    async def delivery_latency(
        self, application_id: str, since: datetime, until: datetime, *, by_country: bool = True
    ) -> list[DeliveryLatency]:
        """Median send-to-delivery seconds per channel and country (``""``: country unknown, or
        every country when ``by_country`` is false).

        The median is the middle row (or the mean of the two middle rows) of each group ordered
        by duration, numbered by ``ROW_NUMBER()`` against the group's ``COUNT(*) OVER``.
        """
        seconds = self.seconds_between(steps.c.sent_at, steps.c.delivered_at)
        country: ColumnElement[Any] = (
            func.coalesce(steps.c.country, literal_column("''"))
            if by_country
            else literal_column("''")
        )
        groups: tuple[ColumnElement[Any], ...] = (
            (steps.c.channel, country) if by_country else (steps.c.channel,)
        )
        ranked = (
            select(
                steps.c.channel.label("channel"),
                country.label("country"),
                seconds.label("secs"),
                func.row_number().over(partition_by=groups, order_by=seconds).label("rn"),
                func.count().over(partition_by=groups).label("n"),
            )
            .where(
                steps.c.application_id == application_id,
                steps.c.created_at >= since,
                steps.c.created_at < until,
                steps.c.sent_at.is_not(None),
                steps.c.delivered_at.is_not(None),
            )
            .subquery()
        )
        query = (
            select(
                ranked.c.channel, ranked.c.country, func.avg(ranked.c.secs), func.max(ranked.c.n)
            )
            .where(or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2))
            .group_by(ranked.c.channel, ranked.c.country)
            .order_by(ranked.c.channel, ranked.c.country)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            DeliveryLatency(r[0], str(r[1]), max(0.0, float(r[2] or 0.0)), int(r[3])) for r in rows
        ]


def _records(
    flow_rows: Sequence[Mapping[Any, Any]], step_rows: Sequence[Mapping[Any, Any]]
) -> list[FlowRecord]:
    by_flow: defaultdict[str, list[Mapping[Any, Any]]] = defaultdict(list)
    for row in step_rows:
        by_flow[row["flow_id"]].append(row)
    records = []
    for row in flow_rows:
        meta = FlowMeta(
            request=list(row["request"]),
            phone=row["phone"],
            label=row["label"],
            callback_url=row["callback_url"],
            callback_strategy=row["callback_strategy"],
        )
        records.append(FlowRecord(flow_from_rows(row, by_flow[row["id"]], None), meta))
    return records
