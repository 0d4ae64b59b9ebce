"""Readiness (``GET /health/ready``), the database gauges of ``/metrics``, and telling "the
database cannot take this now" (503 + Retry-After) from a bug (500)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from sqlalchemy.exc import SQLAlchemyError

from failover_otp.metrics import set_deadline_gauges
from failover_otp.services.clock import Clock
from failover_otp.services.errors import Unavailable
from failover_otp.services.ports import DeadlineQueue

# What storage raises when it cannot serve (overload, a database refusing writes) and also, for
# a bug, what it raises otherwise: ``storage_unavailable`` tells them apart.
STORAGE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, ConnectionError)
# How long the gauges' queries may take before /metrics answers with their last values.
GAUGES_WITHIN_SECONDS = 2
# What a refusal for overload asks the client to wait: short, the condition is usually a burst.
OVERLOAD_RETRY_AFTER_SECONDS = 1

log = structlog.get_logger(__name__)


def storage_unavailable(
    error: BaseException, classify: Callable[[BaseException], str | None]
) -> Unavailable | None:
    """The refusal to answer when storage could not serve (overload, a database refusing
    writes: a condition of the moment), or None when ``error`` is a bug. ``classify`` is the
    storage's own reading of its errors (``busy``, ``unavailable`` or None), handed over by
    bootstrap: only the store knows its drivers' error codes."""
    reason = classify(error)
    if reason is None:
        return None
    log.warning("database unavailable", reason=reason, error=str(error).splitlines()[0])
    message = (
        "the service is busy: no database connection was free in time; retry shortly"
        if reason == "busy"
        else "the database cannot take requests right now; retry shortly"
    )
    return Unavailable(message, retry_after=OVERLOAD_RETRY_AFTER_SECONDS)


class ReadinessResult(Protocol):
    ready: bool
    checks: dict[str, str]
    error: str | None


class HealthService:
    def __init__(
        self,
        check: Callable[[], Awaitable[ReadinessResult]],
        deadlines: DeadlineQueue,
        clock: Clock,
    ) -> None:
        # The storage's own checks (read, write, disk space: store/readiness.py), each named.
        self.check = check
        self.deadlines = deadlines
        self.clock = clock

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """(ready, the body): each check named (``database``, ``writes``, ``disk``) with ``ok``
        or why not, and the ``error`` when not ready."""
        result = await self.check()
        if result.ready:
            return True, {"status": "ok", **result.checks}
        body: dict[str, Any] = {"status": "unavailable", **result.checks, "error": result.error}
        body.setdefault("database", "down")
        return False, body

    async def refresh_gauges(self) -> None:
        """The deadline gauges from the database (raises if it cannot answer in time)."""
        async with asyncio.timeout(GAUGES_WITHIN_SECONDS):
            pending = await self.deadlines.pending_count()
            earliest = await self.deadlines.next_due_at()
        set_deadline_gauges(pending, earliest, self.clock.now())
