"""The loop that turns due deadline rows into DeadlineReached events.

Claims are batched and leased (see DeadlineQueue.claim_due), so any number of these loops, in any
number of processes, share the work without firing a deadline twice, and a loop that dies mid-fire
has its claims taken over once their lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from datetime import timedelta
from typing import Any

import structlog

from failover_otp.domain.records import ClaimedDeadline
from failover_otp.services.clock import Clock
from failover_otp.services.flows import FlowService
from failover_otp.services.ports import DeadlineQueue

log = structlog.get_logger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class DeadlineWorker:
    def __init__(
        self,
        store: DeadlineQueue,
        service: FlowService,
        clock: Clock,
        *,
        poll_seconds: float = 0.2,
        lease_seconds: float = 30.0,
        batch: int = 100,
        concurrency: int = 64,
        worker_id: str | None = None,
        claim_gap_seconds: float = 0.02,
    ) -> None:
        self.store = store
        self.service = service
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self.batch = batch
        self.worker_id = worker_id or default_worker_id()
        self.concurrency = concurrency
        self.claim_gap_seconds = claim_gap_seconds
        self._slots = asyncio.Semaphore(concurrency)
        self.fired = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and fire due deadlines until ``stop`` is set.

        Claiming goes on while earlier claims are still firing (up to ``concurrency`` fires at
        once), so a deadline that falls due behind a batch waits for a free slot, not for the
        whole batch. An idle loop sleeps until the next deadline falls due, or at most
        ``poll_seconds`` (another process may add an earlier one meanwhile).
        """
        log.info("deadline worker started", worker_id=self.worker_id)
        firing: set[asyncio.Task[None]] = set()
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                room = self.concurrency - len(firing)
                claimed: list[ClaimedDeadline] = []
                if room > 0:
                    try:
                        claimed = await self.claim_once(limit=min(self.batch, room))
                    except Exception:
                        log.exception("claiming deadlines failed")
                for item in claimed:
                    task = asyncio.create_task(self._fire(item))
                    firing.add(task)
                    task.add_done_callback(firing.discard)
                if claimed and len(claimed) == min(self.batch, room):
                    await asyncio.sleep(0)  # more may be due: let these start, then claim again
                    continue
                waits: set[asyncio.Future[Any]] = {stopping}
                if room <= len(claimed):
                    waits |= firing  # full: wake up when a slot frees up
                    timeout = self.poll_seconds
                else:
                    # Everything due is claimed: wait for the next deadline, but at least the
                    # claim gap, so that a steady stream of deadlines is claimed a few at a time
                    # rather than one write transaction per deadline (docs/benchmarks.md).
                    timeout = max(self.claim_gap_seconds, await self._idle_seconds())
                if timeout > 0:
                    await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if firing:
                await asyncio.gather(*firing, return_exceptions=True)
        finally:
            stopping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopping
        log.info("deadline worker stopped", worker_id=self.worker_id, fired=self.fired)

    async def _idle_seconds(self) -> float:
        """How long an idle loop may sleep: until the next claimable deadline, at most a poll."""
        now = self.clock.now()
        try:
            due = await self.store.next_claimable_at(now)
        except Exception:
            log.exception("looking up the next deadline failed")
            return self.poll_seconds
        if due is None:
            return self.poll_seconds
        return min(self.poll_seconds, max(0.0, (due - now).total_seconds()))

    async def claim_once(self, limit: int | None = None) -> list[ClaimedDeadline]:
        now = self.clock.now()
        return await self.store.claim_due(
            now=now,
            worker_id=self.worker_id,
            lease_until=now + self.lease,
            limit=self.batch if limit is None else limit,
        )

    async def _fire(self, claimed: ClaimedDeadline) -> None:
        async with self._slots:
            try:
                await self.service.fire(claimed)
                self.fired += 1
            except Exception:
                # The lease runs out and another claim retries it; one bad flow stops nothing.
                log.exception("firing a deadline failed", flow_id=claimed.flow_id)
