"""The steps the engine is still waiting on, for the pending-message poller.

A flow waiting for a step's final status holds a ``step_ttl`` deadline (or ``delivered_wait``
after a Viber delivery under ``failoverOnDelivered``) until that status arrives; those rows,
joined to their step, are exactly the messages a lost callback could leave waiting. They are
read in (due_at, flow_id) order from a cursor, so a poller walks all of them a page at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select

from failover_otp.domain.flow import DeadlineKind
from failover_otp.domain.records import WaitingStep
from failover_otp.store.database import Database
from failover_otp.store.tables import deadlines, steps

# Deadlines that wait on a message the provider already took (not a send still to be retried).
_WAITING_KINDS = (DeadlineKind.STEP_TTL.value, DeadlineKind.DELIVERED_WAIT.value)


class PendingStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def waiting_steps(
        self, *, now: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> Sequence[WaitingStep]:
        """Steps whose flow waits on them and whose deadline is still ahead, after ``after``."""
        query = (
            select(
                deadlines.c.flow_id,
                deadlines.c.step_index,
                deadlines.c.due_at,
                steps.c.tracking_id,
                steps.c.channel,
                steps.c.status,
            )
            .join(
                steps,
                and_(steps.c.flow_id == deadlines.c.flow_id, steps.c.idx == deadlines.c.step_index),
            )
            .where(deadlines.c.kind.in_(_WAITING_KINDS), deadlines.c.due_at > now)
            .order_by(deadlines.c.due_at, deadlines.c.flow_id)
            .limit(limit)
        )
        if after is not None:
            due_at, flow_id = after
            query = query.where(
                or_(
                    deadlines.c.due_at > due_at,
                    and_(deadlines.c.due_at == due_at, deadlines.c.flow_id > flow_id),
                )
            )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            WaitingStep(
                flow_id=row["flow_id"],
                step_index=row["step_index"],
                tracking_id=row["tracking_id"],
                channel=row["channel"],
                status=row["status"],
                due_at=row["due_at"],
            )
            for row in rows
        ]
