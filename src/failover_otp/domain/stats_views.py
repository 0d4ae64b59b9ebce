"""What the dashboard's charts and tiles draw, read off a period's daily rollups (rollups.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from failover_otp.domain.rollups import Rollup, median_ms
from failover_otp.domain.stats import (
    ChannelDelivery,
    Conversion,
    DayChannelCost,
    DayFlows,
    DeliveryLatency,
)


def channel_delivery(rollup: Rollup) -> list[ChannelDelivery]:
    """Per channel: steps, how many succeeded, how many failed."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for (_, channel, _), values in rollup.steps.items():
        for i in range(3):
            totals[channel][i] += values[i]
    return [
        ChannelDelivery(channel, round(v[0]), round(v[1]), round(v[2]))
        for channel, v in sorted(totals.items())
        if round(v[0]) > 0
    ]


def flows_per_day(rollup: Rollup) -> list[DayFlows]:
    """Flows created per UTC day: outcomes, failovers, actual cost and SMS-only parts."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0] * 8)
    for (day, _, _), values in rollup.flows.items():
        for i, v in enumerate(values):
            totals[day][i] += v
    result = []
    for day, t in sorted(totals.items()):
        flows, succeeded, failed = round(t[0]), round(t[3]), round(t[4])
        if flows <= 0:
            continue
        result.append(
            DayFlows(
                day=day,
                flows=flows,
                succeeded=succeeded,
                failed=failed,
                in_progress=flows - succeeded - failed,
                failovers=round(t[5]),
                cost=t[6],
                sms_parts=round(t[7]),
            )
        )
    return result


def cost_per_day(rollup: Rollup) -> list[DayChannelCost]:
    """What the provider charged, per UTC day and channel (steps without a price left out)."""
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for (day, channel, _), values in rollup.steps.items():
        totals[day, channel][0] += values[4]
        totals[day, channel][1] += values[3]
    return [
        DayChannelCost(day, channel, v[0], round(v[1]))
        for (day, channel), v in sorted(totals.items())
        if round(v[1]) > 0
    ]


def delivery_latency(rollup: Rollup, *, by_country: bool = True) -> list[DeliveryLatency]:
    """Median send-to-delivery seconds per channel and country (``""``: country unknown, or
    every country when ``by_country`` is false)."""
    histograms: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for (_, channel, country, bucket), values in rollup.latency.items():
        histogram = histograms[channel, country if by_country else ""]
        histogram[bucket] = histogram.get(bucket, 0) + round(values[0])
    result = []
    for (channel, country), histogram in sorted(histograms.items()):
        median = median_ms(histogram)
        if median is not None:
            result.append(DeliveryLatency(channel, country, median / 1000, sum(histogram.values())))
    return result


def conversion(rollup: Rollup) -> list[Conversion]:
    """OTP flows and how many had their code verified, per UTC day and the channel and country
    of each flow's last step (the message the user typed from)."""
    return [
        Conversion(day, channel, country, round(v[1]), round(v[2]))
        for (day, channel, country), v in sorted(rollup.flows.items())
        if channel and round(v[1]) > 0
    ]


class RollupViews:
    """The dashboard's aggregates as views of one ``rollup`` read, for a store to inherit: the
    SQL store reads its stored rollups, the in-memory twin counts them from its flows."""

    async def rollup(self, application_id: str, since: datetime, until: datetime) -> Rollup:
        """The counters of the application's flows created in ``[since, until)`` (steps:
        created in it)."""
        raise NotImplementedError

    async def channel_delivery(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[ChannelDelivery]:
        """Per channel: steps created in the range, how many succeeded, how many failed."""
        return channel_delivery(await self.rollup(application_id, since, until))

    async def flows_per_day(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[DayFlows]:
        """Flows created per UTC day: outcomes, failovers, actual cost and SMS-only parts."""
        return flows_per_day(await self.rollup(application_id, since, until))

    async def cost_per_day(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[DayChannelCost]:
        """What the provider charged, per UTC day and channel (steps without a price left out)."""
        return cost_per_day(await self.rollup(application_id, since, until))

    async def delivery_latency(
        self, application_id: str, since: datetime, until: datetime, *, by_country: bool = True
    ) -> list[DeliveryLatency]:
        """Median send-to-delivery seconds per channel and country (``""``: country unknown, or
        every country when ``by_country`` is false)."""
        rollup = await self.rollup(application_id, since, until)
        return delivery_latency(rollup, by_country=by_country)

    async def conversion(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[Conversion]:
        """OTP flows created in the range and how many had their code verified, per UTC day and
        the channel and country of each flow's last step (the message the user typed from)."""
        return conversion(await self.rollup(application_id, since, until))
