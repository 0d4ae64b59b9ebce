"""The deadline queue: each flow's next deadline, claimed under a lease by the workers that fire
them. The rows are written with their flow (``FlowStore`` saves a flow and its deadline in one
transaction); this module only hands them out.

The worker asks for claims many times a second: its statements are built once and run through the
driver (``store/driver_sql.py``), without SQLAlchemy's execution layers per call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update

from failover_otp.domain.records import ClaimedDeadline
from failover_otp.store.database import Database
from failover_otp.store.tables import UTCDateTime, deadlines

# The worker's statements, built once (the parameters are bound per call).
_UNCLAIMED = or_(
    deadlines.c.lease_until.is_(None), deadlines.c.lease_until < bindparam("now", type_=UTCDateTime)
)
_CLAIM_DUE = (
    update(deadlines)
    .where(
        deadlines.c.flow_id.in_(
            select(deadlines.c.flow_id)
            .where(deadlines.c.due_at <= bindparam("now", type_=UTCDateTime), _UNCLAIMED)
            .order_by(deadlines.c.due_at)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    )
    .values(claimed_by=bindparam("worker_id"), lease_until=bindparam("lease_until"))
    .returning(deadlines.c.flow_id, deadlines.c.kind, deadlines.c.step_index, deadlines.c.due_at)
)
_NEXT_CLAIMABLE = select(deadlines.c.due_at).where(_UNCLAIMED).order_by(deadlines.c.due_at).limit(1)
_NEXT_DUE = select(func.min(deadlines.c.due_at))
_PENDING = select(func.count()).select_from(deadlines)


class DeadlineQueue:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim_due(
        self, *, now: datetime, worker_id: str, lease_until: datetime, limit: int
    ) -> list[ClaimedDeadline]:
        """Claim up to ``limit`` due deadlines that no live worker holds.

        ``FOR UPDATE SKIP LOCKED`` keeps concurrent PostgreSQL workers off each other's rows
        (SQLite has one writer, so its claims are exclusive anyway); the lease hands the work of
        a worker that died mid-fire to another once it runs out.
        """
        params = {"now": now, "worker_id": worker_id, "lease_until": lease_until, "limit": limit}
        # One statement: on PostgreSQL it needs no BEGIN and COMMIT round trips around it.
        async with self.db.driver_write(one_statement=True) as driver:
            rows = await driver.fetch(_CLAIM_DUE, params)
        return [ClaimedDeadline(flow_id, kind, index, due) for flow_id, kind, index, due in rows]

    async def next_claimable_at(self, now: datetime) -> datetime | None:
        """When the earliest deadline that no live worker holds falls due (None: none waits)."""
        due: datetime | None = await self._scalar(_NEXT_CLAIMABLE, {"now": now})
        return due

    async def next_due_at(self) -> datetime | None:
        """When the earliest deadline falls due, claimed or not (None: the queue is empty)."""
        due: datetime | None = await self._scalar(_NEXT_DUE, {})
        return due

    async def pending_count(self) -> int:
        return int(await self._scalar(_PENDING, {}))

    async def _scalar(self, statement: Any, params: dict[str, Any]) -> Any:
        """The first column of the first row of ``statement`` (None: no row)."""
        async with self.db.driver_read() as driver:
            rows = await driver.fetch(statement, params)
        return rows[0][0] if rows else None
