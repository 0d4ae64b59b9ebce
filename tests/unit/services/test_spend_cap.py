"""Issue 15 item 2 on the in-memory storage: the daily spend cap is never exceeded, even under
concurrency. Admission reserves the flow's worst case; the flow's end releases what it did not
spend (the same against what a real database charged: tests/integration/test_spend_cap.py)."""

from __future__ import annotations

from datetime import timedelta

from tests.support.security_stack import memory_stack, otp_body
from tests.support.spend_sends import today, try_send

from failover_otp.domain.flow import StepPlan
from failover_otp.domain.spend import SpendDay
from failover_otp.domain.statuses import DEFAULT_FAILOVER_ON, Channel, FlowStatus, StepStatus
from failover_otp.services.codes import VerifyStatus


async def test_the_end_of_a_flow_releases_what_it_did_not_spend() -> None:
    async with memory_stack(spend_cap_per_day=0.11, rate_limit_enabled=False) as s:
        first = await try_send(s, "+306975200001")
        second = await try_send(s, "+306975200002")
        assert first is not None
        assert second is not None
        assert await try_send(s, "+306975200003") is None  # 3 x 0.0468 > 0.11
        # The first flow's Viber is delivered: it ends having cost 0.0093, not 0.0468.
        await s.report(first.flow.steps[0].tracking_id, StepStatus.DELIVERED)
        ended = await s.storage.flows.load(first.flow.id)
        assert ended is not None
        assert ended.flow.status is FlowStatus.SUCCEEDED
        assert await today(s) == SpendDay(reserved=46_800, spent=9_300)
        assert await try_send(s, "+306975200003") is not None  # 0.0561 + 0.0468 <= 0.11
        assert await try_send(s, "+306975200004") is None


async def test_a_verified_code_releases_the_failover_it_cancels() -> None:
    async with memory_stack(spend_cap_per_day=0.06, rate_limit_enabled=False) as s:
        record, code = await s.send_otp(otp_body("+306975300001"))
        assert code is not None
        assert await try_send(s, "+306975300002") is None
        result = await s.security.codes.verify("app-1", record.flow.id, code)
        assert result.status is VerifyStatus.APPROVED
        assert await today(s) == SpendDay(reserved=0, spent=9_300)
        assert await try_send(s, "+306975300002") is not None


async def test_a_charge_reported_after_the_end_still_counts() -> None:
    async with memory_stack(spend_cap_per_day=1.0, rate_limit_enabled=False) as s:
        s.provider.priced = False  # the price comes with a later report
        record, _ = await s.send_otp(otp_body("+306975400001"))
        tracking = (await s.storage.flows.load(record.flow.id)).flow.steps[0].tracking_id  # type: ignore[union-attr]
        await s.report(tracking, StepStatus.DELIVERED)
        assert await today(s) == SpendDay(reserved=0, spent=0)  # ended, nothing charged yet
        await s.report(tracking, StepStatus.DELIVERED, price=0.0093)
        assert await today(s) == SpendDay(reserved=0, spent=9_300)


async def test_sms_parts_are_reserved_with_the_code_in_place() -> None:
    """155 characters and ``{pin}``: one part as stored, two once a 6-digit code is in."""
    async with memory_stack(spend_cap_per_day=1.0, rate_limit_enabled=False) as s:
        body = otp_body("+306975500001", sms_body="x" * 155 + "{pin}")
        await s.send_otp(body)
        assert await today(s) == SpendDay(reserved=9_300 + 2 * 37_500, spent=0)


async def test_a_reservation_without_a_flow_is_released_after_an_hour() -> None:
    async with memory_stack(spend_cap_per_day=0.05, rate_limit_enabled=False) as s:
        plans = [StepPlan(Channel.SMS, "306975600001", 60.0, DEFAULT_FAILOVER_ON[Channel.SMS])]
        flow_id = await s.admit("app-1", plans)  # the request dies: no flow is ever created
        # A retry of that request (same Idempotency-Key, same flow id) reserves nothing more.
        await s.security.abuse.admit("app-1", plans, flow_id=flow_id)
        assert await today(s) == SpendDay(reserved=37_500, spent=0)
        spend = s.security.abuse.spend
        assert await spend.purge(s.clock.now() + timedelta(minutes=30)) == 0
        assert await spend.purge(s.clock.now() + timedelta(minutes=61)) == 1
        assert await today(s) == SpendDay(reserved=0, spent=0)
