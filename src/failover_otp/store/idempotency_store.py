"""Idempotency-Key records: claimed by one atomic insert, completed with the response."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, select, update

from failover_otp.domain.idempotency_keys import DONE, IN_PROGRESS, KeyRecord
from failover_otp.store.database import Database
from failover_otp.store.dialect import dialect_of
from failover_otp.store.tables import idempotency_keys


class IdempotencyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, record: KeyRecord, now: datetime) -> KeyRecord | None:
        """Insert ``record`` unless a live one holds its key: None when claimed, else the holder.

        A record past ``expires_at`` no longer counts: it is replaced.
        """
        key = and_(
            idempotency_keys.c.application_id == record.application_id,
            idempotency_keys.c.key == record.key,
        )
        async with self.db.write() as conn:
            await conn.execute(
                delete(idempotency_keys).where(key, idempotency_keys.c.expires_at <= now)
            )
            stmt = (
                dialect_of(conn)
                .insert(idempotency_keys)
                .values(
                    application_id=record.application_id,
                    key=record.key,
                    endpoint=record.endpoint,
                    fingerprint=record.fingerprint,
                    state=record.state,
                    flow_id=record.flow_id,
                    response_status=None,
                    response_body=None,
                    created_at=record.created_at,
                    lease_until=record.lease_until,
                    expires_at=record.expires_at,
                )
                .on_conflict_do_nothing(
                    index_elements=[idempotency_keys.c.application_id, idempotency_keys.c.key]
                )
            )
            if (await conn.execute(stmt)).rowcount == 1:
                return None
            row = (await conn.execute(select(idempotency_keys).where(key))).mappings().first()
        assert row is not None
        return KeyRecord(**row)

    async def take_over(self, held: KeyRecord, lease_until: datetime) -> bool:
        """Become the key's runner after its previous one stopped renewing (compare-and-set)."""
        async with self.db.write() as conn:
            result = await conn.execute(
                update(idempotency_keys)
                .where(
                    idempotency_keys.c.application_id == held.application_id,
                    idempotency_keys.c.key == held.key,
                    idempotency_keys.c.state == IN_PROGRESS,
                    idempotency_keys.c.lease_until == held.lease_until,
                )
                .values(lease_until=lease_until)
            )
        return bool(result.rowcount == 1)

    async def complete(self, application_id: str, key: str, status: int, body: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                update(idempotency_keys)
                .where(
                    idempotency_keys.c.application_id == application_id,
                    idempotency_keys.c.key == key,
                )
                .values(state=DONE, response_status=status, response_body=body)
            )

    async def release(self, application_id: str, key: str, *, forget: bool, now: datetime) -> None:
        """The request failed: forget the key (nothing was created), or end its lease at once so
        a retry resumes the flow it may have created."""
        where = and_(
            idempotency_keys.c.application_id == application_id,
            idempotency_keys.c.key == key,
            idempotency_keys.c.state == IN_PROGRESS,
        )
        async with self.db.write() as conn:
            if forget:
                await conn.execute(delete(idempotency_keys).where(where))
            else:
                await conn.execute(update(idempotency_keys).where(where).values(lease_until=now))

    async def purge(self, now: datetime) -> int:
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now)
            )
        return int(result.rowcount)


__all__ = ["DONE", "IN_PROGRESS", "IdempotencyStore", "KeyRecord"]
