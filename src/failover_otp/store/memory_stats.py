"""In-memory twin of the dashboard's aggregates (``StatsStore``): the same daily rollups
(``domain/rollups.py``) counted from the stored flows as they stand, viewed by the same
``domain/stats_views.py``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from failover_otp.domain.rollups import Rollup, flow_counters
from failover_otp.domain.stats import CodeChecks
from failover_otp.domain.stats_views import RollupViews
from failover_otp.store.memory_state import MemoryState


class MemoryStatistics(RollupViews):
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

    async def code_checks(self, flow_id: str) -> CodeChecks | None:
        stored = self.state.flows.get(flow_id)
        if stored is None:
            return None
        code = self.state.codes.get(flow_id)
        if code is None and stored.verified_at is None:
            return None
        attempts = code.attempts if code is not None else 0
        return CodeChecks(attempts, stored.verified_at or (code.used_at if code else None))
