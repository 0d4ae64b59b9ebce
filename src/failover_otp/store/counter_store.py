"""Fixed-window counters in the database, so every API process shares the same limits.

An increment is one ``INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 RETURNING count``:
atomic on SQLite (one writer) and PostgreSQL (row lock) alike, with no read-then-write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from failover_otp.domain.limits import Exceeded, Window, exceeded_by, window_start
from failover_otp.store.database import Database
from failover_otp.store.dialect import dialect_of
from failover_otp.store.tables import rate_counters


def stored_key(key: str, seconds: int) -> str:
    """A window's row key: what is counted, and over how long."""
    return f"{key}/{seconds}"


def _count_one(conn: AsyncConnection, key: str, seconds: int, now: datetime) -> Any:
    """``INSERT`` the window's row with a count of 1 (for ``ON CONFLICT`` to build on)."""
    start = window_start(now, seconds)
    return (
        dialect_of(conn)
        .insert(rate_counters)
        .values(
            key=stored_key(key, seconds),
            window_start=start,
            count=1,
            expires_at=datetime.fromtimestamp(start + seconds, UTC),
        )
    )


_WINDOW_ROW = [rate_counters.c.key, rate_counters.c.window_start]


async def _increment(conn: AsyncConnection, key: str, seconds: int, now: datetime) -> int:
    stmt = (
        _count_one(conn, key, seconds, now)
        .on_conflict_do_update(
            index_elements=_WINDOW_ROW, set_={"count": rate_counters.c.count + 1}
        )
        .returning(rate_counters.c.count)
    )
    return int((await conn.execute(stmt)).scalar_one())


async def take_slot(
    conn: AsyncConnection, key: str, seconds: int, now: datetime, limit: int
) -> bool:
    """Count one event in the window if it has fewer than ``limit``: one conditional upsert
    (``... DO UPDATE SET count = count + 1 WHERE count < limit``), whose row lock on PostgreSQL
    makes concurrent takers queue, so no more than ``limit`` ever get a slot."""
    stmt = (
        _count_one(conn, key, seconds, now)
        .on_conflict_do_update(
            index_elements=_WINDOW_ROW,
            set_={"count": rate_counters.c.count + 1},
            where=rate_counters.c.count < limit,
        )
        .returning(rate_counters.c.count)
    )
    return (await conn.execute(stmt)).first() is not None


async def give_back_slot(conn: AsyncConnection, key: str, seconds: int, now: datetime) -> None:
    """Undo one :func:`take_slot` of the same window."""
    await conn.execute(
        update(rate_counters)
        .where(
            rate_counters.c.key == stored_key(key, seconds),
            rate_counters.c.window_start == window_start(now, seconds),
            rate_counters.c.count > 0,
        )
        .values(count=rate_counters.c.count - 1)
    )


async def take_windows(
    conn: AsyncConnection, windows: Sequence[Window], now: datetime
) -> Exceeded | None:
    """Count one event in every window (in ``conn``'s transaction); if any went over its limit,
    the window that frees up last (the caller rolls the transaction back)."""
    exceeded: list[Exceeded] = []
    # One lock order for every transaction (sorted keys), so concurrent ones never deadlock.
    for window in sorted(windows, key=lambda w: (w.key, w.seconds)):
        count = await _increment(conn, window.key, window.seconds, now)
        over = exceeded_by(window, count, now)
        if over is not None:
            exceeded.append(over)
    return max(exceeded, key=lambda e: e.retry_after) if exceeded else None


class CounterStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def take(self, windows: Sequence[Window], now: datetime) -> Exceeded | None:
        """Count one event in every window, or in none: if any window would go over its limit,
        nothing is counted and the window that frees up last is returned."""
        if not windows:
            return None
        async with self.db.write() as conn:
            exceeded = await take_windows(conn, windows, now)
            if exceeded is not None:
                await conn.rollback()
        return exceeded

    async def add(self, key: str, seconds: int, now: datetime) -> int:
        """Count one event with no limit; returns the window's count."""
        async with self.db.write() as conn:
            return await _increment(conn, key, seconds, now)

    async def current(self, key: str, seconds: int, now: datetime) -> int:
        query = select(rate_counters.c.count).where(
            rate_counters.c.key == stored_key(key, seconds),
            rate_counters.c.window_start == window_start(now, seconds),
        )
        async with self.db.read() as conn:
            value = (await conn.execute(query)).scalar()
        return int(value or 0)

    async def purge(self, now: datetime, *, grace: timedelta = timedelta(hours=1)) -> int:
        """Delete windows that ended more than ``grace`` ago."""
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(rate_counters).where(rate_counters.c.expires_at < now - grace)
            )
        return int(result.rowcount)


__all__ = [
    "CounterStore",
    "Exceeded",
    "Window",
    "give_back_slot",
    "stored_key",
    "take_slot",
    "take_windows",
    "window_start",
]
