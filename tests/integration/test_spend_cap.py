"""Issue 15 item 2 on SQLite and PostgreSQL: the daily spend cap is never exceeded, even under
concurrency, checked against what the database holds as charged (the rest runs on the in-memory
storage: tests/unit/services/test_spend_cap.py)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from tests.support.security_stack import Stack, security_stack
from tests.support.spend_sends import WORST, fail_over_everything, today, try_send

from failover_otp.domain.spend import MICROS
from failover_otp.store.tables import flows


async def charged_today(stack: Stack, application_id: str = "app-1") -> float:
    """What the provider charged for the application's flows (their steps' prices)."""
    async with stack.db.read() as conn:
        total = await conn.execute(
            select(func.coalesce(func.sum(flows.c.total_cost), 0.0)).where(
                flows.c.application_id == application_id
            )
        )
        return float(total.scalar_one())


async def test_flows_still_running_hold_their_worst_case(database_url: str) -> None:
    """Sequentially, the old check counted only what was charged so far: a cap of 0.2 let ~21
    flows through whose failovers then cost 0.98."""
    async with security_stack(database_url, spend_cap_per_day=0.2, rate_limit_enabled=False) as s:
        sent = [await try_send(s, f"+30697500{n:04d}") for n in range(30)]
        admitted = [r for r in sent if r is not None]
        assert len(admitted) == 4  # 4 x 0.0468 = 0.1872; a fifth could pass 0.2
        await fail_over_everything(s, admitted)
        assert await charged_today(s) == pytest.approx(4 * WORST)
        assert await charged_today(s) <= 0.2


@pytest.mark.parametrize("senders", [40])
async def test_concurrent_sends_never_pass_the_cap(database_url: str, senders: int) -> None:
    async with security_stack(database_url, spend_cap_per_day=0.2, rate_limit_enabled=False) as s:
        sent = await asyncio.gather(*(try_send(s, f"+30697510{n:04d}") for n in range(senders)))
        admitted = [r for r in sent if r is not None]
        assert len(admitted) == 4
        await fail_over_everything(s, admitted)
        assert await charged_today(s) <= 0.2
        day = await today(s)
        assert day.committed <= 0.2 * MICROS
        assert (day.reserved, day.spent) == (4 * 46_800, 0)  # the SMS steps are still running
