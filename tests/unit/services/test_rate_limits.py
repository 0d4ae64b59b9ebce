"""Abuse and cost control with the default settings, on the in-memory storage (battery B; the
same limits held across two processes on a real database: tests/integration/test_rate_limits.py)."""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest
import structlog
from tests.support.security_stack import ServiceStack, memory_stack, otp_body

from failover_otp.domain.flow import StepPlan
from failover_otp.domain.statuses import DEFAULT_FAILOVER_ON, Channel, StepStatus
from failover_otp.services.abuse import (
    CountryNotAllowed,
    NumberTypeNotAllowed,
    prefix_of,
)
from failover_otp.services.errors import RateLimited
from failover_otp.settings import Settings
from failover_otp.web.error_handlers import http_status, service_error_response

PNT = phonenumbers.PhoneNumberType


def plan(number: str, channel: Channel = Channel.VIBER) -> StepPlan:
    return StepPlan(channel, number, 60.0, DEFAULT_FAILOVER_ON[channel])


async def admit(stack: ServiceStack, number: str, app: str = "app-1") -> int | None:
    """None when admitted, else the Retry-After of the refusal."""
    try:
        await stack.admit(app, [plan(number), plan(number, Channel.SMS)])
    except RateLimited as refused:
        error = refused
    else:
        return None
    assert error.code == "rate_limited"
    assert service_error_response(error).headers["Retry-After"] == str(error.retry_after)
    return error.retry_after


def test_prefix_is_the_number_without_its_last_four_digits() -> None:
    assert prefix_of("306912345671", 4) == "30691234"


async def test_per_number_limits() -> None:
    async with memory_stack() as stack:
        stack.clock.moment = stack.clock.moment.replace(minute=0, second=30)
        number = "306912345671"
        assert [await admit(stack, number) for _ in range(5)] == [None] * 5
        retry = await admit(stack, number)
        assert retry is not None
        assert 0 < retry <= 600
        assert retry == 570  # the 10-minute window started 30 s ago
        assert await admit(stack, "306912345672") is None  # another number
        # B1 with number spellings: they normalise to one number, so they count together.
        stack.clock.advance(retry)
        assert await admit(stack, number) is None
        # The daily limit (20) holds across windows.
        for _ in range(3):
            for _ in range(5):
                await admit(stack, number)
            stack.clock.advance(600)
        day_refusal = await admit(stack, number)
        assert day_refusal is not None
        assert day_refusal > 600  # until the UTC day ends, not the 10-minute window


async def test_per_prefix_limit() -> None:
    """B2: 1 000 numbers of one range; at most 100 sends per hour reach them."""
    async with memory_stack() as stack:
        admitted = 0
        for n in range(110):
            if await admit(stack, f"30697000{n:04d}") is None:
                admitted += 1
        assert admitted == 100
        assert await admit(stack, "306970010000") is None  # the next block is another prefix


async def test_per_application_and_country_limits() -> None:
    async with memory_stack(
        rate_limit_application_per_minute=3,
        rate_limit_country_per_hour=5,
    ) as stack:
        assert [await admit(stack, f"30697100{n:04d}") for n in range(3)] == [None] * 3
        assert await admit(stack, "306971009999") is not None  # 4th in the minute
        assert await admit(stack, "306971009999", app="app-2") is None  # app-2 is apart
        stack.clock.advance(60)
        assert await admit(stack, "306971001111") is None
        assert await admit(stack, "306971002222") is None
        # Five Greek numbers this hour for app-1: the country limit now applies.
        stack.clock.advance(60)
        refused = await admit(stack, "306971003333")
        assert refused is not None
        assert await admit(stack, "447911123456") is None  # another country


async def test_a_refused_send_uses_up_nothing() -> None:
    async with memory_stack(rate_limit_prefix_per_hour=2) as stack:
        assert await admit(stack, "306972000001") is None
        assert await admit(stack, "306972000002") is None
        assert await admit(stack, "306972000003") is not None  # prefix full
        # The refused number's own windows were not touched: it still has its 5.
        counters = stack.security.abuse.counters
        assert await counters.current("n:app-1:306972000003", 600, stack.clock.now()) == 0
        assert await counters.current("n:app-1:306972000001", 600, stack.clock.now()) == 1
        assert await counters.current("a:app-1", 60, stack.clock.now()) == 2


EXAMPLES: dict[str, int] = {
    "premium rate": PNT.PREMIUM_RATE,
    "shared cost": PNT.SHARED_COST,
    "toll free": PNT.TOLL_FREE,
    "UAN": PNT.UAN,
    "personal": PNT.PERSONAL_NUMBER,
    "pager": PNT.PAGER,
    "VoIP": PNT.VOIP,
    "voicemail": PNT.VOICEMAIL,
}


def example(kind: int) -> str:
    for region in ("GR", "GB", "FR", "DE", "US", "IT", "ES"):
        number = phonenumbers.example_number_for_type(region, kind)
        if number is not None:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
async def test_non_mobile_number_types_are_refused(kind: str) -> None:
    """B4: no provider call for premium-rate, shared-cost, toll-free... numbers."""
    async with memory_stack() as stack:
        number = example(EXAMPLES[kind])
        for channel in (Channel.VIBER, Channel.SMS, Channel.VOICE):
            with pytest.raises(NumberTypeNotAllowed) as refused:
                await stack.admit("app-1", [plan(number, channel)])
            assert http_status(refused.value) == 422
            assert refused.value.code == "number_type_not_allowed"
        with pytest.raises(NumberTypeNotAllowed):
            await stack.send_otp(otp_body("+" + number))
        assert stack.provider.sent == []


async def test_fixed_lines_take_calls_only() -> None:
    async with memory_stack() as stack:
        landline = example(PNT.FIXED_LINE)
        with pytest.raises(NumberTypeNotAllowed):
            await stack.admit("app-1", [plan(landline, Channel.SMS)])
        await stack.admit("app-1", [plan(landline, Channel.VOICE)])


async def test_voip_can_be_allowed() -> None:
    async with memory_stack(allow_voip_numbers=True) as stack:
        await stack.admit("app-1", [plan(example(PNT.VOIP), Channel.SMS)])


async def test_country_allow_list() -> None:
    """B3: numbers outside the allow-list never reach the provider."""
    async with memory_stack(allowed_countries="gr, CY") as stack:
        await stack.admit("app-1", [plan("306912345670")])
        for number in ("447911123456", "33612345678", "4915123456789", "12015550123"):
            with pytest.raises(CountryNotAllowed) as refused:
                await stack.send_otp(otp_body("+" + number))
            assert refused.value.code == "country_not_allowed"
        assert stack.provider.sent == []


async def test_daily_spend_cap() -> None:
    """B5: flows stop once what today's flows may cost plus the next flow's worst case would
    pass the cap."""
    async with memory_stack(spend_cap_per_day=0.2, rate_limit_enabled=False) as s:
        s.clock.moment = s.clock.moment.replace(hour=22)
        with structlog.testing.capture_logs() as events:
            for n in range(4):
                record, _ = await s.send_otp(otp_body(f"+30697300{n:04d}"))
                await s.report(record.flow.steps[0].tracking_id, StepStatus.UNDELIVERED)
        # The 4th flow took the estimate past 80 % of the cap: warned before the refusals.
        warnings = [e for e in events if e["event"] == "daily spend above 80% of the cap"]
        assert len(warnings) == 1
        with pytest.raises(RateLimited) as refused:
            await s.send_otp(otp_body("+306973000004"))
        # Each flow costs 0.0093 + 0.0375 = 0.0468: four fit (0.1872), a fifth could pass 0.2.
        assert refused.value.code == "spend_cap_reached"
        assert refused.value.retry_after == 2 * 3600  # until UTC midnight
        # The four flows still run (their SMS is on its way): their worst cases are held.
        day = await s.security.abuse.spend.today("app-1", s.clock.now())
        assert (day.reserved, day.spent) == (187_200, 0)
        # Another application has its own cap; a new day resets it.
        await s.admit("app-2", [plan("306912345670")])
        s.clock.advance(2 * 3600)
        await s.send_otp(otp_body("+306973009999"))


async def test_limits_can_be_switched_off() -> None:
    async with memory_stack(rate_limit_enabled=False) as stack:
        for _ in range(30):
            assert await admit(stack, "306912345671") is None


def test_defaults_are_the_documented_ones() -> None:
    defaults: dict[str, Any] = Settings.model_fields
    expected = {
        "rate_limit_enabled": True,
        "rate_limit_number_per_10min": 5,
        "rate_limit_number_per_day": 20,
        "rate_limit_prefix_per_hour": 100,
        "rate_limit_prefix_drop_digits": 4,
        "rate_limit_application_per_minute": 600,
        "rate_limit_application_per_day": 10_000,
        "rate_limit_country_per_hour": 1_000,
        "allowed_countries": "",
        "allow_voip_numbers": False,
        "allow_satellite_numbers": False,
        "spend_cap_per_day": 50.0,
        "code_length": 6,
        "code_ttl_seconds": 600,
        "code_max_attempts": 5,
        "code_failures_per_number_per_day": 20,
        "idempotency_ttl_seconds": 86_400,
    }
    assert {name: defaults[name].default for name in expected} == expected


async def test_old_windows_are_purged() -> None:
    async with memory_stack() as stack:
        await admit(stack, "306912345671")
        stack.clock.advance(3 * 86_400)
        assert await stack.security.abuse.counters.purge(stack.clock.now()) > 0
