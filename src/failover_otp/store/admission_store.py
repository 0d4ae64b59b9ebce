"""A send's admission in one transaction: its limit windows, then its spend reservation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from failover_otp.domain.limits import Exceeded, Window
from failover_otp.domain.spend import Reservation, SpendDay
from failover_otp.store.counter_store import take_windows
from failover_otp.store.database import Database
from failover_otp.store.spend_store import reserve


class AdmissionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def take(
        self, windows: Sequence[Window], reservation: Reservation | None, cap: int, now: datetime
    ) -> tuple[Exceeded | None, SpendDay | None]:
        """Every window and the reservation, or (one window over, or the cap reached) none."""
        if not windows and reservation is None:
            return None, None
        async with self.db.write() as conn:
            # The windows first, then the day row: one lock order for every admission.
            exceeded = await take_windows(conn, windows, now)
            day = None
            if exceeded is None and reservation is not None:
                day = await reserve(conn, reservation, cap, now)
            if exceeded is not None or (reservation is not None and day is None):
                await conn.rollback()
        return exceeded, day
