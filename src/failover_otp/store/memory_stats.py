"""In-memory twin of the dashboard's aggregates (``StatsStore``), computed from the stored
flows: the same groups, orders and medians."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime

from failover_otp.domain.flow import Flow, FlowKind, Role, Step
from failover_otp.domain.stats import (
    ChannelDelivery,
    CodeChecks,
    Conversion,
    DayChannelCost,
    DayFlows,
    DeliveryLatency,
)
from failover_otp.domain.statuses import Channel, FlowStatus, Outcome
from failover_otp.store.memory_state import MemoryState, StoredFlow


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


class MemoryStatistics:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def _flows(self, application_id: str, since: datetime, until: datetime) -> list[StoredFlow]:
        return [
            f
            for f in self.state.flows.values()
            if f.flow.application_id == application_id and since <= f.flow.created_at < until
        ]

    def _steps(self, application_id: str, since: datetime, until: datetime) -> Iterator[Step]:
        for stored in self.state.flows.values():
            if stored.flow.application_id != application_id:
                continue
            yield from (s for s in stored.flow.steps if since <= s.created_at < until)

    async def channel_delivery(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[ChannelDelivery]:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for step in self._steps(application_id, since, until):
            row = counts[step.channel.value]
            row[0] += 1
            row[1] += step.status.outcome is Outcome.SUCCESS
            row[2] += step.status.outcome is Outcome.FAILURE
        return [ChannelDelivery(c, *counts[c]) for c in sorted(counts)]

    async def flows_per_day(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[DayFlows]:
        days: dict[str, list[Flow]] = defaultdict(list)
        for stored in self._flows(application_id, since, until):
            days[_day(stored.flow.created_at)].append(stored.flow)
        result = []
        for day in sorted(days):
            found = days[day]
            succeeded = sum(f.status is FlowStatus.SUCCEEDED for f in found)
            failed = sum(f.status is FlowStatus.FAILED for f in found)
            result.append(
                DayFlows(
                    day=day,
                    flows=len(found),
                    succeeded=succeeded,
                    failed=failed,
                    in_progress=len(found) - succeeded - failed,
                    failovers=sum(any(s.role is Role.FAILOVER for s in f.steps) for f in found),
                    cost=sum(f.total_cost for f in found),
                    sms_parts=sum(_sms_parts(f) for f in found),
                )
            )
        return result

    async def cost_per_day(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[DayChannelCost]:
        sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])
        for step in self._steps(application_id, since, until):
            if step.price is not None:
                row = sums[(_day(step.created_at), step.channel.value)]
                row[0] += step.price
                row[1] += 1
        return [
            DayChannelCost(d, c, sums[(d, c)][0], int(sums[(d, c)][1])) for d, c in sorted(sums)
        ]

    async def delivery_latency(
        self, application_id: str, since: datetime, until: datetime, *, by_country: bool = True
    ) -> list[DeliveryLatency]:
        groups: dict[tuple[str, str], list[float]] = defaultdict(list)
        for step in self._steps(application_id, since, until):
            if step.sent_at is None or step.delivered_at is None:
                continue
            country = (step.country or "") if by_country else ""
            seconds = (step.delivered_at - step.sent_at).total_seconds()
            groups[(step.channel.value, country)].append(seconds)
        return [
            DeliveryLatency(c, k, max(0.0, statistics.median(groups[(c, k)])), len(groups[(c, k)]))
            for c, k in sorted(groups)
        ]

    async def code_checks(self, flow_id: str) -> CodeChecks | None:
        stored = self.state.flows.get(flow_id)
        if stored is None:
            return None
        code = self.state.codes.get(flow_id)
        if code is None and stored.verified_at is None:
            return None
        attempts = code.attempts if code is not None else 0
        return CodeChecks(attempts, stored.verified_at or (code.used_at if code else None))

    async def conversion(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[Conversion]:
        groups: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        for stored in self._flows(application_id, since, until):
            flow = stored.flow
            if flow.kind is not FlowKind.OTP or not flow.steps:
                continue
            last = max(flow.steps, key=lambda s: s.index)
            row = groups[(_day(flow.created_at), last.channel.value, last.country or "")]
            row[0] += 1
            row[1] += stored.verified_at is not None
        return [Conversion(d, c, k, *groups[(d, c, k)]) for d, c, k in sorted(groups)]


def _sms_parts(flow: Flow) -> int:
    """The SMS step's parts (the most of them, if several), else 1."""
    parts = [s.parts for s in flow.steps if s.channel is Channel.SMS]
    return max(parts) if parts else 1
