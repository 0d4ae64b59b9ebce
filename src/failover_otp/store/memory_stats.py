"""In-memory twin of the dashboard's aggregates (``StatsStore``): the same daily rollups
(``domain/rollups.py``) counted from the stored flows as they stand, viewed by the same
``domain/stats_views.py``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from failover_otp.domain import stats_views as views
from failover_otp.domain.rollups import Rollup, flow_counters
from failover_otp.domain.stats import (
    ChannelDelivery,
    CodeChecks,
    Conversion,
    DayChannelCost,
    DayFlows,
    DeliveryLatency,
)
from failover_otp.store.memory_state import MemoryState


class MemoryStatistics:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def rollup(self, application_id: str, since: datetime, until: datetime) -> Rollup:
        """The flows created in ``[since, until)``, and the steps created in it."""
        total = Rollup()
        for stored in self.state.flows.values():
            flow = stored.flow
            if flow.application_id != application_id:
                continue
            verified = stored.verified_at is not None
            if since <= flow.created_at < until:
                total.add(Rollup(flows=flow_counters(flow, verified=verified).flows))
            in_range = tuple(s for s in flow.steps if since <= s.created_at < until)
            if in_range:
                steps = flow_counters(replace(flow, steps=in_range), verified=verified)
                total.add(Rollup(steps=steps.steps, latency=steps.latency))
        return total

    async def channel_delivery(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[ChannelDelivery]:
        return views.channel_delivery(await self.rollup(application_id, since, until))

    async def flows_per_day(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[DayFlows]:
        return views.flows_per_day(await self.rollup(application_id, since, until))

    async def cost_per_day(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[DayChannelCost]:
        return views.cost_per_day(await self.rollup(application_id, since, until))

    async def delivery_latency(
        self, application_id: str, since: datetime, until: datetime, *, by_country: bool = True
    ) -> list[DeliveryLatency]:
        rollup = await self.rollup(application_id, since, until)
        return views.delivery_latency(rollup, by_country=by_country)

    async def conversion(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[Conversion]:
        return views.conversion(await self.rollup(application_id, since, until))

    async def code_checks(self, flow_id: str) -> CodeChecks | None:
        stored = self.state.flows.get(flow_id)
        if stored is None:
            return None
        code = self.state.codes.get(flow_id)
        if code is None and stored.verified_at is None:
            return None
        attempts = code.attempts if code is not None else 0
        return CodeChecks(attempts, stored.verified_at or (code.used_at if code else None))
