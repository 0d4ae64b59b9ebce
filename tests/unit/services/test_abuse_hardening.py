"""Issue 15 items 6 and 11: one tenant cannot lock out another, the wrong-code budget is one
atomic step under concurrency, satellite numbers are refused unless allowed (SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from tests.support.security_stack import ServiceStack, memory_stack, otp_body

from failover_otp.domain.flow import StepPlan
from failover_otp.domain.statuses import DEFAULT_FAILOVER_ON, Channel
from failover_otp.services.abuse import NumberTypeNotAllowed
from failover_otp.services.codes import VerifyStatus
from failover_otp.services.errors import RateLimited
from failover_otp.web.error_handlers import http_status


def plan(number: str, channel: Channel = Channel.VIBER) -> StepPlan:
    return StepPlan(channel, number, 60.0, DEFAULT_FAILOVER_ON[channel])


async def admitted(stack: ServiceStack, app: str, number: str) -> bool:
    try:
        await stack.admit(app, [plan(number), plan(number, Channel.SMS)])
    except RateLimited:
        return False
    return True


def wrong_for(code: str | None) -> str:
    return "000000" if code != "000000" else "111111"


# --- 6. tenant isolation -------------------------------------------------------------------


async def test_one_application_cannot_use_up_another_applications_number_limits() -> None:
    async with memory_stack() as stack:
        number = "306912345681"
        # The attacker's application sends to the victim's user until its limit refuses it.
        assert [await admitted(stack, "attacker", number) for _ in range(6)] == [True] * 5 + [False]
        # The bank's own application still reaches that user, up to its own limit.
        assert [await admitted(stack, "bank", number) for _ in range(6)] == [True] * 5 + [False]


async def test_one_application_cannot_use_up_another_applications_prefix() -> None:
    async with memory_stack(rate_limit_prefix_per_hour=3) as stack:
        block = "30697400"
        assert [await admitted(stack, "attacker", f"{block}{n:04d}") for n in range(4)] == [
            True,
            True,
            True,
            False,
        ]
        assert await admitted(stack, "bank", f"{block}0009")


async def test_one_application_cannot_use_up_another_applications_wrong_code_budget() -> None:
    async with memory_stack(code_failures_per_number_per_day=3, rate_limit_enabled=False) as stack:
        codes = stack.security.codes
        number = "+306912345682"
        attacker, attacker_code = await stack.send_otp(otp_body(number), application_id="attacker")
        wrong = wrong_for(attacker_code)
        statuses = [
            (await codes.verify("attacker", attacker.flow.id, wrong)).status for _ in range(4)
        ]
        assert statuses == [VerifyStatus.WRONG_CODE] * 3 + [VerifyStatus.TOO_MANY_ATTEMPTS]
        # The same number's code at the bank's application is still checked.
        bank, bank_code = await stack.send_otp(otp_body(number), application_id="bank")
        assert bank_code is not None
        assert (await codes.verify("bank", bank.flow.id, bank_code)).status is (
            VerifyStatus.APPROVED
        )


# --- 11. the wrong-code budget is one atomic step -------------------------------------------


async def test_concurrent_wrong_codes_never_pass_the_daily_budget() -> None:
    """Eight flows to one number, five attempts each: forty wrong codes at once against a
    budget of twenty. Exactly twenty are evaluated."""
    async with memory_stack(code_failures_per_number_per_day=20, rate_limit_enabled=False) as stack:
        codes = stack.security.codes
        flows = [await stack.send_otp(otp_body("+306912345683")) for _ in range(8)]
        guesses = [(record.flow.id, wrong_for(code)) for record, code in flows for _ in range(5)]
        results = await asyncio.gather(
            *(codes.verify("app-1", flow_id, guess) for flow_id, guess in guesses)
        )
        statuses = Counter(r.status for r in results)
        assert statuses == {VerifyStatus.WRONG_CODE: 20, VerifyStatus.TOO_MANY_ATTEMPTS: 20}
        # A right code after that is refused too: the number's budget is spent for the day.
        record, code = flows[-1]
        assert code is not None
        assert (await codes.verify("app-1", record.flow.id, code)).status is (
            VerifyStatus.TOO_MANY_ATTEMPTS
        )


async def test_a_right_code_gives_its_failure_slot_back() -> None:
    async with memory_stack(code_failures_per_number_per_day=2, rate_limit_enabled=False) as stack:
        codes = stack.security.codes
        for _ in range(3):  # three right codes: none of them is a failure
            record, code = await stack.send_otp(otp_body("+306912345684"))
            assert code is not None
            assert (await codes.verify("app-1", record.flow.id, code)).valid
        record, code = await stack.send_otp(otp_body("+306912345684"))
        statuses = [
            (await codes.verify("app-1", record.flow.id, wrong_for(code))).status for _ in range(3)
        ]
        assert statuses == [VerifyStatus.WRONG_CODE] * 2 + [VerifyStatus.TOO_MANY_ATTEMPTS]


# --- 11. satellite and international-network numbers ----------------------------------------

# Iridium (+8816, +8817), Globalstar (+8818), Inmarsat (+870), an international network (+882)
# that phonenumbers calls "mobile", and one (+883) it calls VoIP.
SATELLITE = ["881612345678", "881712345678", "881812345678", "870301234567", "8823421234"]


@pytest.mark.parametrize("number", SATELLITE)
async def test_satellite_numbers_are_refused_by_default(number: str) -> None:
    async with memory_stack() as stack:
        for channel in (Channel.VIBER, Channel.SMS, Channel.VOICE):
            with pytest.raises(NumberTypeNotAllowed) as refused:
                await stack.admit("app-1", [plan(number, channel)])
            assert http_status(refused.value) == 422
            assert refused.value.details == [{"step": 1, "numberType": "satellite"}]
        with pytest.raises(NumberTypeNotAllowed):
            await stack.send_otp(otp_body("+" + number))
        assert stack.provider.sent == []


async def test_satellite_numbers_can_be_allowed() -> None:
    async with memory_stack(allow_satellite_numbers=True) as stack:
        for number in SATELLITE:
            await stack.admit("app-1", [plan(number, Channel.SMS)])
        # Allowing satellites does not allow what the number type refuses.
        with pytest.raises(NumberTypeNotAllowed):
            await stack.admit("app-1", [plan("883510012345", Channel.SMS)])
        record, _ = await stack.send_otp(otp_body("+881612345678"))
        assert stack.sent_to(record.flow.id)
