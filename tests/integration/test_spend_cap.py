"""Issue 15 item 2 on SQLite and PostgreSQL: the daily spend cap is never exceeded, even under
concurrency, checked against what the database holds as charged (the rest runs on the in-memory
storage: tests/unit/services/test_spend_cap.py)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from tests.support.security_stack import PRICES, Stack, otp_body, security_stack

from failover_otp.domain.records import FlowRecord
from failover_otp.domain.spend import MICROS, SpendDay
from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.services.errors import RateLimited
from failover_otp.store.tables import flows

# A Viber step and its SMS failover: the worst case of one flow.
WORST = PRICES[Channel.VIBER] + PRICES[Channel.SMS]  # 0.0468


async def charged_today(stack: Stack, application_id: str = "app-1") -> float:
    """What the provider charged for the application's flows (their steps' prices)."""
    async with stack.db.read() as conn:
        total = await conn.execute(
            select(func.coalesce(func.sum(flows.c.total_cost), 0.0)).where(
                flows.c.application_id == application_id
            )
        )
        return float(total.scalar_one())


async def try_send(stack: Stack, number: str) -> FlowRecord | None:
    try:
        record, _ = await stack.send_otp(otp_body(number))
    except RateLimited as refused:
        error = refused
    else:
        return record
    assert error.code == "spend_cap_reached"
    return None


async def fail_over_everything(stack: Stack, records: list[FlowRecord]) -> None:
    """Every Viber step fails: every flow sends (and pays for) its SMS."""
    for record in records:
        await stack.report(record.flow.steps[0].tracking_id, StepStatus.UNDELIVERED)


async def today(stack: Stack) -> SpendDay:
    return await stack.security.abuse.spend.today("app-1", stack.clock.now())


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
