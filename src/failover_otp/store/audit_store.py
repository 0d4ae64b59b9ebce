"""The audit trail: one row per admin action (never a secret in it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from failover_otp.domain.audit import AuditEntry
from failover_otp.store.database import Database
from failover_otp.store.tables import audit_log


class AuditStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, entry: AuditEntry) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                insert(audit_log).values(
                    at=entry.at,
                    actor=entry.actor,
                    action=entry.action,
                    application_id=entry.application_id,
                    detail=entry.detail,
                )
            )

    async def recent(
        self,
        *,
        application_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first."""
        query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        if application_id is not None:
            query = query.where(audit_log.c.application_id == application_id)
        if since is not None:
            query = query.where(audit_log.c.at >= since)
        async with self.db.read() as conn:
            rows = (await conn.execute(query.limit(limit))).mappings().all()
        return [AuditEntry(**r) for r in rows]
