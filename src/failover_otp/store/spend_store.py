"""The daily spend cap: reservations per application and UTC day, taken and released atomically.

Amounts are integers in micro-units of the account currency (no float drift in the sums).

- Admission (:func:`reserve`) is one conditional upsert on the application's day row,
  ``reserved = reserved + x WHERE reserved + spent + x <= cap``: on PostgreSQL the row lock
  makes concurrent admissions queue and each sees the others' reservations, so the sum of the
  worst cases admitted never passes the cap. The flow's reservation row is written in the same
  transaction.
- When the flow ends (:func:`settle`, in the transaction that saves the end), its reservation
  leaves ``reserved`` and what it was charged joins ``spent``; a price that arrives after the end
  is added to ``spent`` the same way.
- A reservation whose flow was never created (the request failed between admission and the
  flow's insert) is released by :meth:`SpendStore.purge` once it is an hour old.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from failover_otp.domain.flow import Flow
from failover_otp.domain.spend import Reservation, SpendDay, day_of, micros
from failover_otp.store.database import Database
from failover_otp.store.dialect import dialect_of
from failover_otp.store.tables import flows, spend_days, spend_reservations

_DAY = 86_400
# A reservation without a flow this old belongs to a request that died before creating it.
ORPHAN_AFTER = timedelta(hours=1)
# Settled reservations and day rows are kept this long (a late price still finds its day).
KEEP = timedelta(days=3)


async def reserve(
    conn: AsyncConnection, reservation: Reservation, cap: int, now: datetime
) -> SpendDay | None:
    """Reserve the flow's worst case on its day if the cap allows it (None: it does not).

    A flow that holds a reservation already (a retried request resuming its flow id) is
    admitted on it, without a second one.
    """
    if reservation.amount > cap:
        return None
    claimed = await conn.execute(
        dialect_of(conn)
        .insert(spend_reservations)
        .values(
            flow_id=reservation.flow_id,
            application_id=reservation.application_id,
            day=reservation.day,
            amount=reservation.amount,
            charged=None,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[spend_reservations.c.flow_id])
        .returning(spend_reservations.c.flow_id)
    )
    if claimed.first() is None:
        return await _day(conn, reservation.application_id, reservation.day)
    upsert = (
        dialect_of(conn)
        .insert(spend_days)
        .values(
            application_id=reservation.application_id,
            day=reservation.day,
            reserved=reservation.amount,
            spent=0,
        )
    )
    row = (
        await conn.execute(
            upsert.on_conflict_do_update(
                index_elements=[spend_days.c.application_id, spend_days.c.day],
                set_={"reserved": spend_days.c.reserved + upsert.excluded.reserved},
                where=(
                    spend_days.c.reserved + spend_days.c.spent + upsert.excluded.reserved <= cap
                ),
            ).returning(spend_days.c.reserved, spend_days.c.spent)
        )
    ).first()
    return SpendDay(int(row[0]), int(row[1])) if row is not None else None


async def settle(conn: AsyncConnection, old: Flow, new: Flow) -> None:
    """In the transaction that saves ``new``: when the flow ends, release its reservation and
    count what it was charged; once ended, count any later change of its charge."""
    if not new.status.is_terminal:
        return
    if old.status.is_terminal and new.total_cost == old.total_cost:
        return
    # The flow's row is locked by this transaction's save: nobody settles it concurrently.
    found = (
        await conn.execute(
            select(
                spend_reservations.c.application_id,
                spend_reservations.c.day,
                spend_reservations.c.amount,
                spend_reservations.c.charged,
            ).where(spend_reservations.c.flow_id == new.id)
        )
    ).first()
    if found is None:
        return  # admitted without a cap
    application_id, day, amount, charged_before = found
    charged = micros(new.total_cost)
    if charged_before is None:
        released, added = int(amount), charged
    else:
        released, added = 0, charged - int(charged_before)
    if released or added:
        await conn.execute(
            update(spend_days)
            .where(spend_days.c.application_id == application_id, spend_days.c.day == day)
            .values(
                reserved=spend_days.c.reserved - released,
                spent=spend_days.c.spent + added,
            )
        )
    await conn.execute(
        update(spend_reservations)
        .where(spend_reservations.c.flow_id == new.id)
        .values(charged=charged)
    )


async def _day(conn: AsyncConnection, application_id: str, day: int) -> SpendDay:
    row = (
        await conn.execute(
            select(spend_days.c.reserved, spend_days.c.spent).where(
                spend_days.c.application_id == application_id, spend_days.c.day == day
            )
        )
    ).first()
    return SpendDay(int(row[0]), int(row[1])) if row is not None else SpendDay()


class SpendStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def today(self, application_id: str, now: datetime) -> SpendDay:
        async with self.db.read() as conn:
            return await _day(conn, application_id, day_of(now))

    async def purge(self, now: datetime) -> int:
        """Release the reservations of flows never created; forget old settled rows.
        Returns how many reservations were released."""
        no_flow = ~exists().where(flows.c.id == spend_reservations.c.flow_id)
        async with self.db.write() as conn:
            orphans = (
                await conn.execute(
                    delete(spend_reservations)
                    .where(
                        spend_reservations.c.charged.is_(None),
                        spend_reservations.c.created_at < now - ORPHAN_AFTER,
                        no_flow,
                    )
                    .returning(
                        spend_reservations.c.application_id,
                        spend_reservations.c.day,
                        spend_reservations.c.amount,
                    )
                )
            ).all()
            for application_id, day, amount in orphans:
                await conn.execute(
                    update(spend_days)
                    .where(spend_days.c.application_id == application_id, spend_days.c.day == day)
                    .values(reserved=spend_days.c.reserved - amount)
                )
            old = now - KEEP
            await conn.execute(
                delete(spend_reservations).where(
                    and_(
                        spend_reservations.c.charged.is_not(None),
                        spend_reservations.c.created_at < old,
                    )
                )
            )
            await conn.execute(delete(spend_days).where(spend_days.c.day < day_of(old)))
        return len(orphans)
