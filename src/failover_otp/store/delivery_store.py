"""The delivery model's history: small histograms per channel, country, operator and hour.

One upsert per sent step that reaches a final state (``count = count + 1`` on its row), so the
history grows by at most (keys x bins) rows an hour whatever the traffic; a read sums the hours
of the sliding window, grouped by key and bin (migration 0015, domain/delivery_model.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from failover_otp.domain.delivery_model import ModelKey, Observation, hour_of
from failover_otp.domain.statuses import Channel
from failover_otp.store.database import Database
from failover_otp.store.dialect import Dialect, dialect_of
from failover_otp.store.tables import delivery_histograms

_HOUR = 3600


def _build_bump(dialect: Dialect) -> Any:
    stmt = dialect.insert(delivery_histograms)
    c = delivery_histograms.c
    return stmt.on_conflict_do_update(
        index_elements=[c.channel, c.country, c.operator, c.hour, c.bin],
        set_={
            "delivered": c.delivered + stmt.excluded.delivered,
            "censored": c.censored + stmt.excluded.censored,
        },
    )


def _bump(conn: AsyncConnection) -> Any:
    return dialect_of(conn).once("delivery_histograms.bump", _build_bump)


class DeliveryStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, observations: list[Observation]) -> None:
        if not observations:
            return
        # One row per histogram cell, its counts summed: a batch of many changes bumps each
        # cell once.
        cells: dict[tuple[str, str, str, int, int], list[int]] = {}
        for o in observations:
            # Primary key columns: "unknown" is stored as "" and read back as None.
            key = (
                o.key.channel.value,
                o.key.country or "",
                o.key.operator or "",
                hour_of(o.at),
                o.bin,
            )
            counts = cells.setdefault(key, [0, 0])
            counts[0 if o.delivered else 1] += 1
        rows = [
            {
                "channel": channel,
                "country": country,
                "operator": operator,
                "hour": hour,
                "bin": bin_,
                "delivered": delivered,
                "censored": censored,
            }
            for (channel, country, operator, hour, bin_), (delivered, censored) in cells.items()
        ]
        async with self.db.write_one() as conn:
            for row in rows:
                await conn.execute(_bump(conn), row)

    async def counts(self, since: datetime) -> list[tuple[ModelKey, int, int, int]]:
        """(key, bin, delivered, censored) summed over the hours from ``since``'s on."""
        c = delivery_histograms.c
        query = (
            select(
                c.channel,
                c.country,
                c.operator,
                c.bin,
                func.sum(c.delivered).label("delivered"),
                func.sum(c.censored).label("censored"),
            )
            .where(c.hour >= hour_of(since))
            .group_by(c.channel, c.country, c.operator, c.bin)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            (
                ModelKey(Channel(r.channel), r.country or None, r.operator or None),
                int(r.bin),
                int(r.delivered),
                int(r.censored),
            )
            for r in rows
        ]
