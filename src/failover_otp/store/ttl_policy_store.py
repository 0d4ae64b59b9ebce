"""An application's ``"ttl": "auto"`` settings (migration 0015): bounds, threshold, default.

Read only when a send asks for auto or omits a ttl, so an ordinary send stays without reads.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from failover_otp.domain.adaptive_ttl import BUILT_IN_POLICY, AutoTtl, TtlPolicy
from failover_otp.store.database import Database
from failover_otp.store.dialect import dialect_of
from failover_otp.store.tables import app_ttl_policies

__all__ = ["BUILT_IN_POLICY", "TtlPolicy", "TtlPolicyStore"]


class TtlPolicyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, application_id: str) -> TtlPolicy | None:
        t = app_ttl_policies.c
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(app_ttl_policies).where(t.application_id == application_id)
                )
            ).first()
        if row is None:
            return None
        return TtlPolicy(AutoTtl(row.min_seconds, row.max_seconds, row.threshold), row.is_default)

    async def set(self, application_id: str, policy: TtlPolicy, now: datetime) -> None:
        values = {
            "application_id": application_id,
            "min_seconds": policy.bounds.min_seconds,
            "max_seconds": policy.bounds.max_seconds,
            "threshold": policy.bounds.threshold,
            "is_default": policy.is_default,
            "updated_at": now,
        }
        async with self.db.write() as conn:
            stmt = dialect_of(conn).insert(app_ttl_policies).values(**values)
            await conn.execute(
                stmt.on_conflict_do_update(index_elements=["application_id"], set_=values)
            )

    async def clear(self, application_id: str) -> bool:
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(app_ttl_policies).where(app_ttl_policies.c.application_id == application_id)
            )
        return bool(result.rowcount)
