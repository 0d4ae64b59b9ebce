"""What an application has spent: the sum of its flows' costs since a moment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from failover_otp.store.database import Database
from failover_otp.store.tables import flows


class SpendStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def spent_since(self, application_id: str, since: datetime) -> float:
        query = select(func.coalesce(func.sum(flows.c.total_cost), 0.0)).where(
            flows.c.application_id == application_id, flows.c.created_at >= since
        )
        async with self.db.read() as conn:
            return float((await conn.execute(query)).scalar_one())
