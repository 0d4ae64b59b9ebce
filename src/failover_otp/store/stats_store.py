"""The operator dashboard's aggregates: delivery, failovers, cost, latency, conversion.

(The flows table is one of the listings, ``store/listing.py``; refusals are
``store/refusal_store.py``.)

Every figure is read off the period's daily rollups (``store/rollup_store.py``: a few rows per
day, plus the flows not yet finished), not off every flow of the period; the pure views of them
are ``domain/stats_views.py``. Reads run through ``Database.scan()`` (never on the event loop on
SQLite, never on the sends' pool).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from failover_otp.domain.rollups import Rollup
from failover_otp.domain.stats import (
    ChannelDelivery,
    CodeChecks,
    Conversion,
    DayChannelCost,
    DayFlows,
    DeliveryLatency,
)
from failover_otp.domain.stats_views import RollupViews
from failover_otp.store.database import Database
from failover_otp.store.rollup_store import RollupStore
from failover_otp.store.tables import flows, otp_codes

__all__ = [
    "ChannelDelivery",
    "CodeChecks",
    "Conversion",
    "DayChannelCost",
    "DayFlows",
    "DeliveryLatency",
    "StatsStore",
]


class StatsStore(RollupViews):
    def __init__(self, db: Database) -> None:
        self.db = db
        self.rollups = RollupStore(db)

    async def rollup(self, application_id: str, since: datetime, until: datetime) -> Rollup:
        """The counters of the application's flows created in ``[since, until)``: read once,
        then viewed by ``domain/stats_views.py``."""
        return await self.rollups.read(application_id, since, until)

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
