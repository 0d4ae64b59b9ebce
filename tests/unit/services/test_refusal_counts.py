"""Refused sends reach the dashboard (issue 17, item 10): each refusal ``AbuseGuard.admit`` raises
(429 rate limits and spend cap, 422 country and number type) bumps one counter row per
application, UTC day and reason, on a real database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from tests.support.security_stack import memory_stack

from failover_otp.domain.flow import StepPlan
from failover_otp.domain.statuses import DEFAULT_FAILOVER_ON, Channel
from failover_otp.services.errors import ServiceError

pytestmark = pytest.mark.asyncio(loop_scope="session")


def plan(number: str, channel: Channel = Channel.VIBER) -> StepPlan:
    return StepPlan(channel, number, 60.0, DEFAULT_FAILOVER_ON[channel])


async def test_every_kind_of_refusal_is_counted_per_reason_and_day() -> None:
    async with memory_stack(
        allowed_countries="GR",
        rate_limit_number_per_10min=1,
        spend_cap_per_day=0.02,
    ) as stack:
        guard = stack.security.abuse
        stack.clock.moment = stack.clock.moment.replace(hour=10)
        await guard.admit("app-1", [plan("306912345671")], flow_id=str(uuid.uuid4()))  # counts none
        refused: list[str] = []
        for app, number, channel in (
            ("app-1", "306912345671", Channel.VIBER),  # second send to the number in 10 min
            ("app-1", "306912345671", Channel.VIBER),
            ("app-1", "447911123456", Channel.VIBER),  # not an allowed country
            ("app-1", "306912345672", Channel.SMS),  # 0.0375 would pass the 0.02 cap
            ("app-2", "447911123456", Channel.VIBER),  # another application's refusal
        ):
            with pytest.raises(ServiceError) as error:
                await guard.admit(app, [plan(number, channel)], flow_id=str(uuid.uuid4()))
            refused.append(error.value.code)
        assert refused == [
            "rate_limited",
            "rate_limited",
            "country_not_allowed",
            "spend_cap_reached",
            "country_not_allowed",
        ]
        store = stack.storage.refusals
        today = stack.clock.moment
        counts = {r.reason: r.count for r in await store.counts("app-1", today, today)}
        assert counts == {
            "rate_limited:number_per_10min": 2,
            "country_not_allowed": 1,
            "spend_cap_reached": 1,
        }
        [other] = await store.counts("app-2", today, today)
        assert (other.reason, other.count) == ("country_not_allowed", 1)
        assert other.last_at == today
        # Yesterday's range holds none of today's.
        yesterday = today - timedelta(days=1)
        assert await store.counts("app-1", yesterday, yesterday) == []
