"""In-memory twin of the replay's recorded flows (``ReplayStore``): the same rows, read from
the stored flows, made into ``RecordedFlow`` by the same code."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from failover_otp.domain.replay import RecordedFlow
from failover_otp.domain.statuses import FlowStatus
from failover_otp.store.memory_state import MemoryState
from failover_otp.store.replay_store import REPLAY_LIMIT, recorded_flow
from failover_otp.store.rows import plans_to_json, step_values


class MemoryRecordedFlows:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def recorded(
        self, application_id: str, since: datetime, until: datetime, *, time_scale: float = 1.0
    ) -> tuple[list[RecordedFlow], int]:
        ended = [
            s
            for s in self.state.flows.values()
            if s.flow.application_id == application_id
            and since <= s.flow.created_at < until
            and s.flow.status is not FlowStatus.IN_PROGRESS
        ]
        newest = sorted(ended, key=lambda s: s.flow.created_at, reverse=True)[:REPLAY_LIMIT]
        recorded = []
        for stored in sorted(newest, key=lambda s: s.flow.id):
            flow = stored.flow
            rows: list[Mapping[str, Any]] = [
                {
                    **step_values(flow, step, None),
                    "flow_created_at": flow.created_at,
                    "plans": plans_to_json(flow.plans),
                }
                for step in sorted(flow.steps, key=lambda s: s.index)
            ]
            if rows:
                recorded.append(recorded_flow(rows, time_scale))
        found = [r for r in recorded if r is not None]
        return found, len(recorded) - len(found)
