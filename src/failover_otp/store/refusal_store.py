"""Counts of refused sends (rate limits, the spend cap, number types, countries) per application,
UTC day and reason: one upsert per refusal, read by the dashboard (migration 0010).

A refused send stores nothing else (no flow, no step), so without these rows it would never reach
the dashboard. A counter row per day and reason keeps the cost of a refusal storm at one small
write each, and the table at a few rows per application and day.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from failover_otp.domain.refusals import RefusalCount, day_of
from failover_otp.store.database import Database
from failover_otp.store.dialect import Dialect, dialect_of
from failover_otp.store.tables import refusal_counts


def _build_bump(dialect: Dialect) -> Any:
    stmt = dialect.insert(refusal_counts)
    return stmt.on_conflict_do_update(
        index_elements=[
            refusal_counts.c.application_id,
            refusal_counts.c.day,
            refusal_counts.c.reason,
        ],
        set_={"count": refusal_counts.c.count + 1, "last_at": stmt.excluded.last_at},
    )


def _bump(conn: AsyncConnection) -> Any:
    """``INSERT ... ON CONFLICT DO UPDATE count = count + 1``, built once per dialect."""
    return dialect_of(conn).once("refusal_counts.bump", _build_bump)


class RefusalStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, application_id: str, reason: str, now: datetime) -> None:
        values = {
            "application_id": application_id,
            "day": day_of(now),
            "reason": reason[:64],
            "count": 1,
            "last_at": now,
        }
        async with self.db.write_one() as conn:
            await conn.execute(_bump(conn), values)

    async def counts(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[RefusalCount]:
        """Per reason, refusals on the UTC days from ``since``'s to ``until``'s (both included),
        most frequent first."""
        query = (
            select(
                refusal_counts.c.reason,
                func.sum(refusal_counts.c.count).label("n"),
                func.max(refusal_counts.c.last_at).label("last_at"),
            )
            .where(
                refusal_counts.c.application_id == application_id,
                refusal_counts.c.day >= day_of(since),
                refusal_counts.c.day <= day_of(until),
            )
            .group_by(refusal_counts.c.reason)
        )
        async with self.db.scan() as conn:
            rows = (await conn.execute(query)).all()
        found = [RefusalCount(r.reason, int(r.n), r.last_at) for r in rows]
        return sorted(found, key=lambda r: (-r.count, r.reason))
