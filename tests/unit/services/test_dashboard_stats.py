"""The dashboard's charts and tiles from a period's numbers: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from failover_otp.domain.refusals import RefusalCount
from failover_otp.domain.stats import ChannelDelivery, DayChannelCost, DayFlows, DeliveryLatency
from failover_otp.services.dashboard_stats import stats_view

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SINCE = datetime(2026, 2, 24, tzinfo=UTC)


def _view(**changes: Any) -> dict[str, Any]:
    numbers: dict[str, Any] = {
        "days": 7,
        "since": SINCE,
        "now": NOW,
        "channels": [ChannelDelivery("sms", 4, 3, 1), ChannelDelivery("viber", 10, 6, 2)],
        "per_day": [
            DayFlows("2026-03-01", 8, 6, 1, 1, 4, 0.2, 10),
            DayFlows("2026-03-02", 2, 2, 0, 0, 0, 0.05, 2),
        ],
        "costs": [
            DayChannelCost("2026-03-01", "viber", 0.1, 8),
            DayChannelCost("2026-03-01", "sms", 0.1, 4),
            DayChannelCost("2026-03-02", "viber", 0.05, 2),
        ],
        "latency": [DeliveryLatency("viber", "", 1.5, 6)],
        "overall": [DeliveryLatency("sms", "", 4.0, 3), DeliveryLatency("viber", "", 1.5, 6)],
        "conversion": {"flows": 10},
        "refusals": [RefusalCount("rate_limited:number_per_10min", 3, NOW - timedelta(hours=1))],
        "sms_price": 0.05,
        "currency": "EUR",
        "time_scale": 1.0,
    }
    return stats_view(**(numbers | changes))


def test_totals_and_savings_against_sms_alone() -> None:
    totals = _view()["totals"]
    assert (totals["flows"], totals["succeeded"], totals["failed"]) == (10, 8, 1)
    assert totals["failover_rate"] == 0.4
    assert totals["cost"] == 0.25
    assert totals["sms_only_cost"] == 0.6  # 12 parts at 0.05
    assert totals["saved"] == 0.35
    assert round(totals["saved_ratio"], 4) == round(0.35 / 0.6, 4)


def test_channels_come_viber_first_with_their_delivery_rate() -> None:
    channels = _view()["channels"]
    assert [c["channel"] for c in channels] == ["viber", "sms"]
    assert channels[0]["pending"] == 2
    assert channels[1]["delivery_rate"] == 0.75


def test_every_day_has_each_channels_cost() -> None:
    days = _view()["days"]
    assert [d["day"] for d in days] == ["2026-03-01", "2026-03-02"]
    assert days[1]["cost"] == {"viber": 0.05, "sms": 0.0}
    assert days[0]["failover_rate"] == 0.5


def test_latency_is_shown_in_the_flows_time() -> None:
    view = _view(time_scale=60.0)
    assert view["latency"] == [
        {"channel": "viber", "country": "unknown", "median_ms": 90_000, "samples": 6}
    ]
    assert list(view["median_ms_by_channel"]) == ["viber", "sms"]


def test_refusals_and_an_empty_period() -> None:
    assert _view()["refusals"]["total"] == 3
    empty = _view(channels=[], per_day=[], costs=[], latency=[], overall=[], refusals=[])
    assert empty["totals"]["failover_rate"] is None
    assert empty["totals"]["saved_ratio"] is None
    assert empty["days"] == []
    assert (empty["since"], empty["until"]) == (
        "2026-02-24T00:00:00.000Z",
        "2026-03-02T12:00:00.000Z",
    )
