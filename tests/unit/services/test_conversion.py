"""Conversion from the daily numbers: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime

from failover_otp.domain.stats import ChannelDelivery, Conversion
from failover_otp.services.conversion import conversion_summary, whole_days_until

ROWS = [
    Conversion("2026-03-01", "viber", "GR", 4, 3),
    Conversion("2026-03-01", "sms", "GR", 2, 1),
    Conversion("2026-03-02", "sms", "", 2, 0),
]


def test_conversion_per_channel_country_and_day() -> None:
    summary = conversion_summary(ROWS, [ChannelDelivery("sms", 4, 3, 1)])
    assert (summary["flows"], summary["verified"], summary["conversionRate"]) == (8, 4, 0.5)
    assert summary["byChannel"] == [
        {"channel": "sms", "flows": 4, "verified": 1, "conversionRate": 0.25, "deliveryRate": 0.75},
        {
            "channel": "viber",
            "flows": 4,
            "verified": 3,
            "conversionRate": 0.75,
            "deliveryRate": None,
        },
    ]
    assert [c["country"] for c in summary["byCountry"]] == ["", "GR"]
    assert [d["verified"] for d in summary["byDay"]] == [4, 0]


def test_no_flows_no_rate() -> None:
    assert conversion_summary([])["conversionRate"] is None


def test_a_range_that_reaches_now_ends_at_the_next_utc_midnight() -> None:
    now = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)
    assert whole_days_until(now, now) == datetime(2026, 3, 3, tzinfo=UTC)
    earlier = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert whole_days_until(earlier, now) == earlier
    midnight = datetime(2026, 3, 3, tzinfo=UTC)
    assert whole_days_until(midnight, now) == midnight
