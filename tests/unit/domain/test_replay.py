"""What-if replay of recorded Viber → SMS flows under other failover policies."""

from __future__ import annotations

from dataclasses import replace

import pytest

from failover_otp.domain.adaptive_ttl import AutoTtl
from failover_otp.domain.replay import Policy, RecordedFlow, replay, standard_policies

VIBER, SMS = 0.01, 0.04


def flow(
    n: int,
    *,
    delivered: float | None = None,
    gave_up: float | None = None,
    failed: float | None = None,
    sms: float | None = None,
    sms_started: float | None = None,
) -> RecordedFlow:
    return RecordedFlow(
        flow_id=f"00000000-0000-0000-0000-{n:012d}",
        country="GR",
        operator="Cosmote",
        start_offset=0.0,
        viber_price=VIBER if failed != 0 else 0.0,
        viber_delivered=delivered,
        viber_gave_up=gave_up,
        viber_failed=failed,
        sms_started=sms_started,
        sms_delivered=sms,
        sms_price=SMS if sms_started is not None else None,
    )


# Recorded with a fixed 120 s ttl: three delivered by Viber (2, 5 and 50 s), one given up at
# 120 s whose SMS took 4 s, one refused by Viber whose SMS took 6 s.
RECORD = [
    flow(1, delivered=2),
    flow(2, delivered=5),
    flow(3, delivered=50),
    replace(flow(4, gave_up=120, sms_started=120, sms=4), viber_ttl=120),
    flow(5, failed=0, sms_started=0, sms=6),
]


def result(policy: Policy) -> dict[str, object]:
    (found,) = replay(RECORD, [policy])
    return {
        "codes": found.codes,
        "median": found.median_seconds,
        "p95": found.p95_seconds,
        "both": found.both_channels_share,
        "cost": found.cost_per_code,
    }


def test_replaying_the_recorded_policy_gives_what_was_recorded() -> None:
    assert result(Policy("fixed 120", ttl=120)) == {
        "codes": 5,
        "median": 6.0,
        "p95": 124.0,
        "both": 0.2,  # flow 4 (flow 5's Viber was refused: one channel sent)
        "cost": pytest.approx((4 * VIBER + 2 * SMS) / 5),
    }


def test_a_shorter_ttl_cuts_off_the_slow_viber_delivery_and_fails_over_sooner() -> None:
    # ttl 10: flow 3 (Viber at 50 s) fails over at 10 s and gets an SMS drawn from the recorded
    # ones (4 or 6 s); flow 4 fails over at 10 s and keeps its own SMS time.
    found = result(Policy("fixed 10", ttl=10))
    assert found["codes"] == 5
    assert found["p95"] in (14.0, 16.0)
    assert found["both"] == 0.4
    assert found["cost"] == pytest.approx((4 * VIBER + 3 * SMS) / 5)


def test_a_longer_ttl_than_recorded_is_assumed_not_to_help() -> None:
    # Flow 4 gave up at 120 s: under 300 s it is assumed still undelivered then, so the user
    # waits until 300 s for the same SMS.
    found = result(Policy("fixed 300", ttl=300))
    assert found["p95"] == 304.0
    assert found["both"] == 0.2


def test_auto_without_enough_history_behaves_like_the_upper_bound() -> None:
    auto = result(Policy("auto", auto=AutoTtl(5, 120, 0.95)))
    assert auto == result(Policy("fixed 120", ttl=120))


def test_the_standard_policies_are_the_fixed_ttls_and_each_threshold() -> None:
    names = [p.name for p in standard_policies()]
    assert names == [
        "fixed 10 s", "fixed 20 s", "fixed 30 s", "fixed 60 s", "fixed 120 s",
        "auto 80%", "auto 90%", "auto 95%", "auto 99%",
    ]  # fmt: skip


def test_a_replay_repeats() -> None:
    policies = standard_policies()
    assert replay(RECORD, policies) == replay(RECORD, policies)


def test_a_replayed_failover_takes_as_long_as_the_recorded_ones() -> None:
    # The engine sent the SMS 1.5 s after the 120 s ttl ran out: a 10 s ttl fails over at 11.5 s.
    slow = [
        replace(flow(1, gave_up=120.5, sms_started=121.5, sms=4), viber_ttl=120),
        replace(flow(2, gave_up=120.5, sms_started=121.5, sms=4), viber_ttl=120),
    ]
    (as_recorded, shorter) = replay(slow, [Policy("120", ttl=120), Policy("10", ttl=10)])
    assert as_recorded.median_seconds == 125.5
    assert shorter.median_seconds == 15.5
