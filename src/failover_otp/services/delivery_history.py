"""The delivery model's shell: record each sent step's end, serve a cached model snapshot.

``FlowService`` records what a saved decision ended (``record_change``) and asks for the
snapshot it hands to ``decide`` (``snapshot``). The snapshot is re-read at most every
``cache_seconds`` per process, so a send costs no extra read (docs/adaptive-failover.md).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import structlog
from sqlalchemy.exc import SQLAlchemyError

from failover_otp.domain.delivery_model import (
    NEVER_BIN,
    DeliveryModel,
    ModelKey,
    Observation,
    bin_of,
)
from failover_otp.domain.flow import Flow, Step
from failover_otp.domain.statuses import Outcome, StepStatus
from failover_otp.services.clock import Clock
from failover_otp.services.ports import DeliveryObservations

log = structlog.get_logger(__name__)

# Counts waiting for their write; past this many the database is far behind and more are dropped.
_PENDING_MAX = 100_000


def ended_steps(old: Flow | None, new: Flow, time_scale: float) -> list[Observation]:
    """What ``new`` adds to the history compared with ``old``: each sent step that was
    delivered, or reached a failure, in this change (durations in the flow's own seconds)."""
    found: list[Observation] = []
    for step in new.steps:
        before = old.step_for(step.index) if old is not None else None
        observation = _observation(before, step, time_scale)
        if observation is not None:
            found.append(observation)
    return found


def _observation(before: Step | None, step: Step, time_scale: float) -> Observation | None:
    if step.sent_at is None:
        return None  # never reached the provider: nothing about delivery times
    key = ModelKey(step.channel, step.country, step.operator)
    if step.delivered_at is not None:
        if before is not None and before.delivered_at is not None:
            return None  # already counted
        seconds = (step.delivered_at - step.sent_at).total_seconds() * time_scale
        return Observation(key, bin_of(seconds), True, step.updated_at)
    if step.status.outcome is not Outcome.FAILURE:
        return None
    if before is not None and before.status.outcome is Outcome.FAILURE:
        return None
    if step.status is StepStatus.EXPIRED or step.detailed_status == "Expired":
        # It ran out of time: not delivered within this long, later unknown (censored).
        seconds = (step.updated_at - step.sent_at).total_seconds() * time_scale
        return Observation(key, bin_of(seconds), False, step.updated_at)
    # The provider gave it up (undelivered, failed, rejected): it will never be delivered.
    return Observation(key, NEVER_BIN, False, step.updated_at)


class DeliveryHistory:
    def __init__(
        self,
        store: DeliveryObservations,
        clock: Clock,
        *,
        window_hours: int = 168,
        cache_seconds: float = 30.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.window = timedelta(hours=window_hours)
        self.cache_seconds = cache_seconds
        self._model = DeliveryModel()
        self._loaded_at: float | None = None
        self._loading = asyncio.Lock()
        self._pending: list[Observation] = []
        self._writer: asyncio.Task[None] | None = None

    async def snapshot(self) -> DeliveryModel:
        """The model of the window's history, at most ``cache_seconds`` old."""
        if self._fresh():
            return self._model
        async with self._loading:  # one re-read at a time; the others get its result
            if not self._fresh():
                counts = await self.store.counts(self.clock.now() - self.window)
                self._model = DeliveryModel.from_counts(counts)
                self._loaded_at = time.monotonic()
        return self._model

    def _fresh(self) -> bool:
        return (
            self._loaded_at is not None and time.monotonic() - self._loaded_at < self.cache_seconds
        )

    async def record_change(self, old: Flow | None, new: Flow, time_scale: float) -> None:
        """Count what the change ended. The count is written behind the caller's back, many
        changes to one transaction (a burst of failovers all bump the same few rows: one
        transaction each queued them on one row lock and held a pooled connection apiece)."""
        observations = ended_steps(old, new, time_scale)
        if not observations:
            return
        if len(self._pending) >= _PENDING_MAX:
            return  # the database is far behind: the history is advisory, this count is dropped
        self._pending.extend(observations)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_pending())

    async def _write_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self.store.record(batch)
            except (
                SQLAlchemyError,
                OSError,
            ) as exc:  # the history is advisory: a lost count must not fail a flow
                log.warning("delivery history not recorded", error=str(exc))

    async def flush(self) -> None:
        """Write what is still pending (at shutdown, before the database closes)."""
        if self._writer is not None:
            await self._writer
        await self._write_pending()
