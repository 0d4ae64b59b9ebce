"""Never depend on callbacks alone: look up the messages the engine still waits on.

Routee pushes delivery reports to ``FOTP_PUBLIC_URL``; if they never arrive (a wrong URL, a
firewall, Routee not honouring ``callback`` on ``/viber/otp``) a flow would otherwise only learn
a step's fate when its ttl deadline looks it up, or when someone reads it. This loop, run beside
the deadline worker, asks the provider about every waiting step once per interval while its
deadline is ahead (``FlowService.look_up``), and feeds what it learns through
``FlowService.report``: the same path as a pushed report, so the engine's rules (statuses only
move forward, failover, webhooks) apply unchanged, and a report that changes nothing changes
nothing.

Bounded: at most ``max_per_second`` look-ups per process, spread over the waiting steps by a
cursor that walks them in deadline order (the ``PendingSteps`` port). A step is first looked up one
interval after the poller first sees it (a message just taken is queued anyway); every running
worker process polls, so N processes ask up to N times as often (docs/routee.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import structlog

from failover_otp.domain.records import WaitingStep
from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.services.clock import Clock
from failover_otp.services.errors import Unavailable
from failover_otp.services.flows import FlowService
from failover_otp.services.ports import PendingSteps

log = structlog.get_logger(__name__)

# Rows read per tick: a few times what the tick may look up (most rows of a page were asked
# recently), so scanning stays proportional to the look-up budget however many steps wait.
SCAN_FACTOR = 5
SCAN_MIN = 20
# A tick is at most this long, so a short interval is honoured closely.
MAX_TICK_SECONDS = 1.0

_Key = tuple[str, int, str]  # flow id, step index, tracking id


class PendingPoller:
    def __init__(
        self,
        store: PendingSteps,
        service: FlowService,
        clock: Clock,
        *,
        interval_seconds: float,
        max_per_second: float,
        time_scale: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.service = service
        self.clock = clock
        # The interval is engine time: a scaled-up run (demos, tests) polls as much faster.
        self.interval = interval_seconds / time_scale
        self.tick = min(MAX_TICK_SECONDS, self.interval / 2)
        self.per_tick = max(1, int(max_per_second * self.tick))
        self.page = max(SCAN_MIN, SCAN_FACTOR * self.per_tick)
        self._monotonic = monotonic
        self._cursor: tuple[datetime, str] | None = None
        # When each waiting step was first seen or last looked up (monotonic seconds).
        self._last: dict[_Key, float] = {}
        self._swept: set[_Key] = set()
        self.looked_up = 0
        self.reported = 0

    async def run(self, stop: asyncio.Event) -> None:
        log.info("pending poller started", interval=self.interval, per_tick=self.per_tick)
        while not stop.is_set():
            try:
                await self.poll_once()
            except Exception:
                log.exception("polling pending messages failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.tick)
        log.info("pending poller stopped", looked_up=self.looked_up, reported=self.reported)

    async def poll_once(self) -> int:
        """One tick: walk the next page of waiting steps and look up those due, up to this
        tick's budget. Returns how many were looked up."""
        rows = await self.store.waiting_steps(
            now=self.clock.now(), after=self._cursor, limit=self.page
        )
        now = self._monotonic()
        due: list[WaitingStep] = []
        stopped_at: WaitingStep | None = None
        for row in rows:
            key = (row.flow_id, row.step_index, row.tracking_id)
            self._swept.add(key)
            first_seen = self._last.setdefault(key, now)
            if first_seen == now or now - self._last[key] < self.interval:
                continue
            if len(due) == self.per_tick:
                stopped_at = row  # out of budget: the next tick starts here
                break
            self._last[key] = now
            due.append(row)
        self._advance(rows, stopped_at)
        await asyncio.gather(*(self._look_up(row) for row in due))
        return len(due)

    def _advance(self, rows: Sequence[WaitingStep], stop: WaitingStep | None) -> None:
        if stop is not None:
            index = rows.index(stop)
            self._cursor = rows[index - 1].cursor if index else self._cursor
        elif len(rows) == self.page:
            self._cursor = rows[-1].cursor
        else:
            # The walk reached the end: start over, and forget steps no longer waiting.
            self._cursor = None
            self._last = {k: v for k, v in self._last.items() if k in self._swept}
            self._swept = set()

    async def _look_up(self, row: WaitingStep) -> None:
        try:
            channel = Channel(row.channel)
            report = await self.service.look_up(channel, row.tracking_id)
        except (ValueError, Unavailable) as exc:
            log.warning("pending look-up failed", flow_id=row.flow_id, error=str(exc))
            return
        self.looked_up += 1
        if report is None or report.status is StepStatus.QUEUED or _same(report.status, row):
            return  # nothing new: the engine would change nothing
        self.reported += 1
        await self.service.report(report)


def _same(status: StepStatus, row: WaitingStep) -> bool:
    try:
        return StepStatus.parse(row.status) is status
    except ValueError:
        return False
