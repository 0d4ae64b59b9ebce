"""Sandbox profiles: the realistic one draws the issue's distributions, repeatably; without a
profile the sandbox is the contract's digit table."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

import pytest

from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.providers.sandbox.outcomes import AT_TTL, Outcome, outcome_for
from failover_otp.providers.sandbox.profiles import DigitTable, Realistic, profile_named
from failover_otp.providers.sandbox.routee_sim import RouteeSim

NOON = datetime(2026, 2, 16, 12, 0, tzinfo=UTC)
NIGHT = datetime(2026, 2, 16, 3, 0, tzinfo=UTC)
N = 20_000


def draws(channel: Channel, *, at: datetime = NOON, operator: str = "GR/Cosmote") -> list[Outcome]:
    profile = Realistic(seed=7)
    profile.slow_operator["GR"] = "Cosmote"
    return [
        profile.outcome(channel, "+306912345671", ttl_seconds=3600, operator_key=operator, at=at)
        for _ in range(N)
    ]


def delivered_after(outcomes: list[Outcome]) -> list[float]:
    return [o.reports[0].after for o in outcomes if o.reports[0].status is StepStatus.DELIVERED]


def test_viber_shares_and_times() -> None:
    outcomes = draws(Channel.VIBER)
    never = [o for o in outcomes if o.reports[0].after == AT_TTL]
    assert len(never) / N == pytest.approx(0.25, abs=0.01)
    times = delivered_after(outcomes)
    late = [t for t in times if t >= 30]
    assert len(late) / N == pytest.approx(0.05 + 0.70 * 0.0094, abs=0.005)
    body = sorted(t for t in times if t < 30)
    assert statistics.median(body) == pytest.approx(3.0, rel=0.05)
    assert max(late) <= 300


def test_sms_times_and_undelivered_share() -> None:
    outcomes = draws(Channel.SMS)
    statuses = [o.reports[0].status for o in outcomes]
    assert statuses.count(StepStatus.UNDELIVERED) / N == pytest.approx(0.02, abs=0.005)
    times = sorted(o.reports[0].after for o in outcomes)
    assert statistics.median(times) == pytest.approx(4.0, rel=0.05)
    assert times[int(0.95 * N)] == pytest.approx(20.0, rel=0.08)


def test_the_slow_operator_is_twice_as_slow_at_night_only() -> None:
    day = statistics.median(o.reports[0].after for o in draws(Channel.SMS))
    night = statistics.median(o.reports[0].after for o in draws(Channel.SMS, at=NIGHT))
    other = draws(Channel.SMS, at=NIGHT, operator="GR/Vodafone")
    assert night == pytest.approx(2 * day, rel=0.01)  # the same draws, doubled
    assert statistics.median(o.reports[0].after for o in other) == pytest.approx(day, rel=0.01)


def test_a_late_viber_delivery_past_the_ttl_expires_instead() -> None:
    profile = Realistic(seed=1)
    outcomes = [
        profile.outcome(
            Channel.VIBER, "+306912345671", ttl_seconds=20, operator_key="GR/x", at=NOON
        )
        for _ in range(2000)
    ]
    assert all(o.reports[0].after == AT_TTL or o.reports[0].after <= 20 for o in outcomes)


def test_a_seed_repeats_its_run() -> None:
    assert draws(Channel.VIBER)[:50] == draws(Channel.VIBER)[:50]
    other = Realistic(seed=8)
    first = [
        other.outcome(Channel.VIBER, "+306912345671", ttl_seconds=120, operator_key="GR/x", at=NOON)
        for _ in range(50)
    ]
    assert first != draws(Channel.VIBER)[:50]


@pytest.mark.parametrize("digit", range(10))
@pytest.mark.parametrize("channel", [Channel.VIBER, Channel.SMS, Channel.VOICE])
def test_without_a_profile_the_sandbox_is_the_digit_table(channel: Channel, digit: int) -> None:
    to = f"+30691234567{digit}"
    assert isinstance(RouteeSim().profile, DigitTable)
    assert isinstance(profile_named(""), DigitTable)
    chosen = profile_named(None).outcome(channel, to, ttl_seconds=120, operator_key="", at=NOON)
    assert chosen == outcome_for(channel, to)


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown sandbox profile"):
        profile_named("optimistic")
