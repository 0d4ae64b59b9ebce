"""The dashboard's timing page: the delivery model's time-to-deliver curves (the whole service's
history) and the what-if replay of one application's recent flows (docs/adaptive-failover.md)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from failover_otp.domain.replay import PolicyResult, replay, standard_policies
from failover_otp.services.clock import Clock
from failover_otp.services.delivery_history import DeliveryHistory
from failover_otp.services.delivery_view import model_entries
from failover_otp.services.ports import RecordedFlows


class TimingView:
    def __init__(
        self,
        history: DeliveryHistory | None,
        recorded: RecordedFlows,
        clock: Clock,
        *,
        auto_ttl_min_seconds: float,
        auto_ttl_max_seconds: float,
        time_scale: float = 1.0,
    ) -> None:
        self.history = history
        self.recorded = recorded
        self.clock = clock
        self.auto_ttl_min_seconds = auto_ttl_min_seconds
        self.auto_ttl_max_seconds = auto_ttl_max_seconds
        self.time_scale = time_scale

    async def timing(self, application_id: str, days: int) -> dict[str, Any]:
        """The model's curves, and the replay of the application's flows of the last ``days``."""
        model = await self.history.snapshot() if self.history is not None else None
        flows, skipped, results = await self.replay(
            application_id,
            timedelta(days=days),
            min_ttl=self.auto_ttl_min_seconds,
            max_ttl=self.auto_ttl_max_seconds,
        )
        return {
            "models": model_entries(model) if model is not None else [],
            "replay": {
                "days": days,
                "flows": flows,
                "skipped": skipped,
                "policies": [asdict(r) for r in results],
            },
        }

    async def replay(
        self, application_id: str, period: timedelta, *, min_ttl: float, max_ttl: float
    ) -> tuple[int, int, list[PolicyResult]]:
        """What fixed ttls and auto (bounded by ``min_ttl``..``max_ttl``) would have done with
        the application's Viber → SMS flows of the last ``period``: (flows replayed, other
        flows skipped, each policy's result)."""
        now = self.clock.now()
        flows, skipped = await self.recorded.recorded(
            application_id, now - period, now, time_scale=self.time_scale
        )
        return len(flows), skipped, replay(flows, standard_policies(min_ttl, max_ttl))
