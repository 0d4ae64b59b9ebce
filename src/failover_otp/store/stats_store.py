"""The operator dashboard's aggregates: delivery, failovers, cost, latency, conversion, refusals.

(The flows table is one of the listings, ``store/listing.py``.)

SQLAlchemy Core only, and every query runs unchanged on SQLite and PostgreSQL: the two places
where the dialects differ (the calendar day of a timestamp, the seconds between two) go through
the database's dialect (``store/dialect.py``); medians use window functions (``ROW_NUMBER`` and
``COUNT(*) OVER``), which both have. Every query is scoped to one application and to a range of
creation times, so it runs on the ``(application_id, created_at, ...)`` indexes of migration 0001,
through ``Database.scan()`` (never on the event loop on SQLite, never on the sends' pool).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, exists, func, literal, literal_column, or_, select
from sqlalchemy.sql.elements import ColumnElement

from failover_otp.domain.flow import FlowKind, Role
from failover_otp.domain.stats import (
    ChannelDelivery,
    CodeChecks,
    Conversion,
    DayChannelCost,
    DayFlows,
    DeliveryLatency,
)
from failover_otp.domain.statuses import Channel, FlowStatus, Outcome, StepStatus
from failover_otp.store.database import Database
from failover_otp.store.tables import flows, otp_codes, steps

SUCCESS_STATUSES = tuple(s.value for s in StepStatus if s.outcome is Outcome.SUCCESS)
FAILURE_STATUSES = tuple(s.value for s in StepStatus if s.outcome is Outcome.FAILURE)


class StatsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

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
        async with self.db.scan() as conn:
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
        day = self.db.dialect.day_of(flows.c.created_at).label("day")

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
        async with self.db.scan() as conn:
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
        day = self.db.dialect.day_of(steps.c.created_at).label("day")
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
        async with self.db.scan() as conn:
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
        seconds = self.db.dialect.seconds_between(steps.c.sent_at, steps.c.delivered_at)
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
        async with self.db.scan() as conn:
            rows = (await conn.execute(query)).all()
        return [
            DeliveryLatency(r[0], str(r[1]), max(0.0, float(r[2] or 0.0)), int(r[3])) for r in rows
        ]

    async def code_checks(self, flow_id: str) -> CodeChecks | None:
        """The flow's code checks, or None when it has no code of ours (a customer's own pin)."""
        query = (
            select(flows.c.verified_at, otp_codes.c.attempts, otp_codes.c.used_at)
            .select_from(flows.outerjoin(otp_codes, otp_codes.c.flow_id == flows.c.id))
            .where(flows.c.id == flow_id)
        )
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None or (row.attempts is None and row.verified_at is None):
            return None
        return CodeChecks(int(row.attempts or 0), row.verified_at or row.used_at)

    async def conversion(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[Conversion]:
        """OTP flows created in the range and how many had their code verified, per UTC day and
        the channel and country of each flow's last step (the message the user typed from)."""
        later = steps.alias("later")
        last_index = (
            select(func.max(later.c.idx))
            .where(later.c.flow_id == flows.c.id)
            .correlate(flows)
            .scalar_subquery()
        )
        day = self.db.dialect.day_of(flows.c.created_at).label("day")
        country = func.coalesce(steps.c.country, literal_column("''")).label("country")
        verified = func.sum(case((flows.c.verified_at.is_not(None), 1), else_=0))
        query = (
            select(day, steps.c.channel, country, func.count(), verified)
            .select_from(
                flows.join(steps, (steps.c.flow_id == flows.c.id) & (steps.c.idx == last_index))
            )
            .where(
                flows.c.application_id == application_id,
                flows.c.kind == FlowKind.OTP.value,
                flows.c.created_at >= since,
                flows.c.created_at < until,
            )
            .group_by(day, steps.c.channel, country)
            .order_by(day, steps.c.channel, country)
        )
        async with self.db.scan() as conn:
            rows = (await conn.execute(query)).all()
        return [Conversion(str(r[0]), r[1], str(r[2]), int(r[3]), int(r[4] or 0)) for r in rows]
