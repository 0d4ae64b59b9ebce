"""The dashboard's charts and tiles, from a period's numbers: a pure renderer (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from failover_otp.domain.refusals import RefusalCount
from failover_otp.domain.stats import (
    ChannelDelivery,
    DayChannelCost,
    DayFlows,
    DeliveryLatency,
)
from failover_otp.services.conversion import delivery_rate
from failover_otp.services.story import iso


def stats_view(
    *,
    days: int,
    since: datetime,
    now: datetime,
    channels: Sequence[ChannelDelivery],
    per_day: Sequence[DayFlows],
    costs: Sequence[DayChannelCost],
    latency: Sequence[DeliveryLatency],
    overall: Sequence[DeliveryLatency],
    conversion: dict[str, Any],
    refusals: Sequence[RefusalCount],
    sms_price: float,
    currency: str,
    time_scale: float = 1.0,
) -> dict[str, Any]:
    """Everything the charts and tiles show for flows created in ``[since, now)``: totals,
    per channel, per day, latency medians (in the flow's time, ``time_scale``), conversion and
    refused sends; costs against what SMS alone would have cost at ``sms_price`` a part."""
    flows = sum(d.flows for d in per_day)
    failovers = sum(d.failovers for d in per_day)
    actual = sum(d.cost for d in per_day)
    sms_only = sum(d.sms_parts for d in per_day) * sms_price
    day_names = sorted({d.day for d in per_day} | {c.day for c in costs})
    channel_names = sorted({c.channel for c in costs}, key=_channel_order)
    cost_by = {(c.day, c.channel): c.cost for c in costs}
    flows_by = {d.day: d for d in per_day}
    return {
        "period_days": days,
        "since": iso(since),
        "until": iso(now),
        "sms_price": sms_price,
        "currency": currency,
        "conversion": conversion,
        "refusals": {
            "total": sum(r.count for r in refusals),
            "reasons": [
                {"reason": r.reason, "count": r.count, "last_at": iso(r.last_at)} for r in refusals
            ],
        },
        "totals": {
            "flows": flows,
            "succeeded": sum(d.succeeded for d in per_day),
            "failed": sum(d.failed for d in per_day),
            "in_progress": sum(d.in_progress for d in per_day),
            "failovers": failovers,
            "failover_rate": failovers / flows if flows else None,
            "cost": round(actual, 6),
            "sms_only_cost": round(sms_only, 6),
            "saved": round(sms_only - actual, 6),
            "saved_ratio": (sms_only - actual) / sms_only if sms_only else None,
        },
        "channels": [
            {
                "channel": c.channel,
                "steps": c.steps,
                "delivered": c.delivered,
                "failed": c.failed,
                "pending": c.pending,
                "delivery_rate": delivery_rate(c),
            }
            for c in sorted(channels, key=lambda c: _channel_order(c.channel))
        ],
        "days": [
            {
                "day": day,
                "flows": flows_by[day].flows if day in flows_by else 0,
                "failovers": flows_by[day].failovers if day in flows_by else 0,
                "failover_rate": flows_by[day].failovers / flows_by[day].flows
                if day in flows_by and flows_by[day].flows
                else None,
                "cost": {ch: round(cost_by.get((day, ch), 0.0), 6) for ch in channel_names},
                "actual_cost": round(flows_by[day].cost, 6) if day in flows_by else 0.0,
                "sms_only_cost": round(flows_by[day].sms_parts * sms_price, 6)
                if day in flows_by
                else 0.0,
            }
            for day in day_names
        ],
        "latency": [
            {
                "channel": item.channel,
                "country": item.country or "unknown",
                "median_ms": round(item.median_seconds * 1000 * time_scale),
                "samples": item.samples,
            }
            for item in latency
        ],
        "median_ms_by_channel": {
            item.channel: round(item.median_seconds * 1000 * time_scale)
            for item in sorted(overall, key=lambda i: _channel_order(i.channel))
        },
    }


def _channel_order(channel: str) -> tuple[int, str]:
    return ({"viber": 0, "sms": 1, "voice": 2}.get(channel, 9), channel)
