"""Sends against the daily spend cap, for its tests on the in-memory storage and on a database."""

from __future__ import annotations

from failover_otp.domain.records import FlowRecord
from failover_otp.domain.spend import SpendDay
from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.services.errors import RateLimited
from tests.support.security_stack import PRICES, ServiceStack, otp_body

# A Viber step and its SMS failover: the worst case of one flow.
WORST = PRICES[Channel.VIBER] + PRICES[Channel.SMS]  # 0.0468


async def try_send(stack: ServiceStack, number: str) -> FlowRecord | None:
    """The flow, or None when the spend cap refused it."""
    try:
        record, _ = await stack.send_otp(otp_body(number))
    except RateLimited as refused:
        error = refused
    else:
        return record
    assert error.code == "spend_cap_reached"
    return None


async def fail_over_everything(stack: ServiceStack, records: list[FlowRecord]) -> None:
    """Every Viber step fails: every flow sends (and pays for) its SMS."""
    for record in records:
        await stack.report(record.flow.steps[0].tracking_id, StepStatus.UNDELIVERED)


async def today(stack: ServiceStack) -> SpendDay:
    return await stack.security.abuse.spend.today("app-1", stack.clock.now())
