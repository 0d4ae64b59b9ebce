"""Readiness (``GET /health/ready``), the database gauges of ``/metrics``, and telling "the
database cannot take this now" (503 + Retry-After) from a bug (500)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from failover_otp.metrics import set_deadline_gauges
from failover_otp.services.clock import Clock
from failover_otp.store import readiness
from failover_otp.store.availability import unavailable_reason
from failover_otp.store.database import Database
from failover_otp.store.flow_store import FlowStore

# What storage raises when it cannot serve (overload, a database refusing writes) and also, for
# a bug, what it raises otherwise: ``storage_unavailable`` tells them apart.
STORAGE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, ConnectionError)
# How long the gauges' queries may take before /metrics answers with their last values.
GAUGES_WITHIN_SECONDS = 2


def storage_unavailable(error: BaseException) -> str | None:
    """Why the database could not serve (``busy``, ``unavailable``), or None for a bug."""
    return unavailable_reason(error)


class HealthService:
    def __init__(
        self,
        db: Database,
        flows: FlowStore,
        clock: Clock,
        *,
        min_free_bytes: int,
        within_seconds: float,
    ) -> None:
        self.db = db
        self.flows = flows
        self.clock = clock
        self.min_free_bytes = min_free_bytes
        self.within_seconds = within_seconds

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """(ready, the body): each check named (``database``, ``writes``, ``disk``) with ``ok``
        or why not, and the ``error`` when not ready."""
        result = await readiness.check(
            self.db, min_free_bytes=self.min_free_bytes, within_seconds=self.within_seconds
        )
        if result.ready:
            return True, {"status": "ok", **result.checks}
        body: dict[str, Any] = {"status": "unavailable", **result.checks, "error": result.error}
        body.setdefault("database", "down")
        return False, body

    async def refresh_gauges(self) -> None:
        """The deadline gauges from the database (raises if it cannot answer in time)."""
        async with asyncio.timeout(GAUGES_WITHIN_SECONDS):
            pending = await self.flows.pending_count()
            earliest = await self.flows.next_due_at()
        set_deadline_gauges(pending, earliest, self.clock.now())
