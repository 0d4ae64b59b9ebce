"""Send limits held across two API processes on a real database (the rest of battery B runs on
the in-memory storage: tests/unit/services/test_rate_limits.py)."""

from __future__ import annotations

import asyncio

import pytest
from tests.support.security_stack import security_stack

from failover_otp.domain.flow import StepPlan
from failover_otp.domain.statuses import DEFAULT_FAILOVER_ON, Channel
from failover_otp.services.abuse import AbuseGuard
from failover_otp.services.errors import RateLimited
from failover_otp.store.admission_store import AdmissionStore
from failover_otp.store.counter_store import CounterStore
from failover_otp.store.database import Database

pytestmark = pytest.mark.asyncio


def plan(number: str) -> StepPlan:
    return StepPlan(Channel.VIBER, number, 60.0, DEFAULT_FAILOVER_ON[Channel.VIBER])


async def test_counters_hold_across_processes(database_url: str) -> None:
    """Two guards on two engines (two API processes) share the limit exactly."""
    async with security_stack(database_url) as stack:
        other_db = Database(database_url)
        try:
            other = AbuseGuard(
                stack.settings,
                CounterStore(other_db),
                stack.security.abuse.spend,
                stack.clock,
                admissions=AdmissionStore(other_db),
            )
            guards = [stack.security.abuse, other]

            async def one(n: int) -> bool:
                try:
                    await guards[n % 2].admit("app-1", [plan("306912345677")], flow_id=f"f-{n}")
                except RateLimited:
                    return False
                return True

            results = await asyncio.gather(*(one(n) for n in range(40)))
        finally:
            await other_db.dispose()
        assert sum(results) == 5
