"""The loop that turns due deadline rows into DeadlineReached events.

Claims are batched and leased (see FlowStore.claim_due), so any number of these loops, in any
number of processes, share the work without firing a deadline twice, and a loop that dies mid-fire
has its claims taken over once their lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from datetime import timedelta

import structlog

from failover_otp.services.clock import Clock
from failover_otp.services.flows import FlowService
from failover_otp.store.flow_store import ClaimedDeadline, FlowStore

log = structlog.get_logger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class DeadlineWorker:
    def __init__(
        self,
        store: FlowStore,
        service: FlowService,
        clock: Clock,
        *,
        poll_seconds: float = 0.2,
        lease_seconds: float = 30.0,
        batch: int = 100,
        concurrency: int = 64,
        worker_id: str | None = None,
    ) -> None:
        self.store = store
        self.service = service
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self.batch = batch
        self.worker_id = worker_id or default_worker_id()
        self._slots = asyncio.Semaphore(concurrency)
        self.fired = 0

    async def run(self, stop: asyncio.Event) -> None:
        log.info("deadline worker started", worker_id=self.worker_id)
        while not stop.is_set():
            try:
                claimed = await self.claim_once()
            except Exception:
                log.exception("claiming deadlines failed")
                claimed = []
            if claimed:
                await asyncio.gather(*(self._fire(c) for c in claimed))
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
        log.info("deadline worker stopped", worker_id=self.worker_id, fired=self.fired)

    async def claim_once(self) -> list[ClaimedDeadline]:
        now = self.clock.now()
        return await self.store.claim_due(
            now=now, worker_id=self.worker_id, lease_until=now + self.lease, limit=self.batch
        )

    async def _fire(self, claimed: ClaimedDeadline) -> None:
        async with self._slots:
            try:
                await self.service.fire(claimed)
                self.fired += 1
            except Exception:
                # The lease runs out and another claim retries it; one bad flow stops nothing.
                log.exception("firing a deadline failed", flow_id=claimed.flow_id)
