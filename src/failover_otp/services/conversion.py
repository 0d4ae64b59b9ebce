"""Conversion: the share of OTP flows whose code was verified (``POST /otp/verify`` approved),
per channel, country and day, beside the delivery rates ("Succeeded" means delivered, not used).

A pure summary of a period's daily rollups (``domain/stats_views.py``), shared by the dashboard
and ``GET /stats/conversion`` (docs/api.md). A flow counts under the channel and country of its
last step: the message the user most likely typed the code from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from failover_otp.domain import stats_views as views
from failover_otp.domain.stats import ChannelDelivery, Conversion
from failover_otp.services.clock import Clock
from failover_otp.services.ports import Statistics
from failover_otp.services.story import iso

# The range ``GET /stats/conversion`` covers when it names no start: the last 7 UTC days.
DEFAULT_DAYS = 7


def _rate(verified: int, flows: int) -> float | None:
    return verified / flows if flows else None


def _group(
    rows: Sequence[Conversion], key: Callable[[Conversion], str], name: str
) -> list[dict[str, Any]]:
    totals: dict[str, list[int]] = {}
    for row in rows:
        counts = totals.setdefault(key(row), [0, 0])
        counts[0] += row.flows
        counts[1] += row.verified
    return [
        {name: k, "flows": f, "verified": v, "conversionRate": _rate(v, f)}
        for k, (f, v) in sorted(totals.items())
    ]


def delivery_rate(channel: ChannelDelivery) -> float | None:
    """Delivered among the channel's steps that have an outcome (pending ones left out)."""
    ended = channel.delivered + channel.failed
    return channel.delivered / ended if ended else None


def conversion_summary(
    rows: Sequence[Conversion], delivery: Sequence[ChannelDelivery] = ()
) -> dict[str, Any]:
    """Totals, and the same per channel (with that channel's delivery rate), per country
    (``""``: unknown) and per UTC day."""
    flows = sum(r.flows for r in rows)
    verified = sum(r.verified for r in rows)
    rates = {c.channel: delivery_rate(c) for c in delivery}
    by_channel = _group(rows, lambda r: r.channel, "channel")
    for item in by_channel:
        item["deliveryRate"] = rates.get(item["channel"])
    return {
        "flows": flows,
        "verified": verified,
        "conversionRate": _rate(verified, flows),
        "byChannel": by_channel,
        "byCountry": _group(rows, lambda r: r.country, "country"),
        "byDay": _group(rows, lambda r: r.day, "day"),
    }


def whole_days_until(until: datetime, now: datetime | None = None) -> datetime:
    """``until``, moved to the next UTC midnight when it is ``now`` or later: nothing is created
    after now, so the count is the same, and whole days are read off the stored rollups."""
    if now is not None and until < now:
        return until
    midnight = until.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == until else midnight + timedelta(days=1)


async def conversion_report(
    stats: Statistics,
    application_id: str,
    since: datetime,
    until: datetime,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """:func:`conversion_summary` of the application's flows created in ``[since, until)``."""
    end = whole_days_until(until, now) if now is not None else until
    rollup = await stats.rollup(application_id, since, end)
    return conversion_summary(views.conversion(rollup), views.channel_delivery(rollup))


class ConversionReports:
    """``GET /stats/conversion``: one application's conversion over a range of creation times."""

    def __init__(self, stats: Statistics, clock: Clock) -> None:
        self.stats = stats
        self.clock = clock

    async def report(
        self, application_id: str, start: datetime | None, end: datetime | None
    ) -> dict[str, Any]:
        """``[start, end)``; no end: now; no start: the start of the ``DEFAULT_DAYS``-th UTC day
        back (whole UTC days by default: those are read off the daily rollups alone)."""
        now = self.clock.now()
        until = end or now
        since = start or whole_days_until(until, now) - timedelta(days=DEFAULT_DAYS)
        report = await conversion_report(self.stats, application_id, since, until, now=now)
        return {"dateStart": iso(since), "dateEnd": iso(until), **report}
