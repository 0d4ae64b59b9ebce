"""The sandbox's Routee: accepts sends, applies the outcome table, answers look-ups.

Both the embedded provider and the standalone wire server (`failover-otp sandbox`) drive this one
implementation, so they behave identically.
"""

from __future__ import annotations

import asyncio
import heapq
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.phones import describe
from failover_otp.providers.sandbox.account import Account
from failover_otp.providers.sandbox.outcomes import (
    Outcome,
    Refusal,
    ScheduledReport,
    price_for,
    push_schedule,
    report_delay,
    report_order,
    status_at,
)
from failover_otp.providers.sandbox.profiles import DigitTable, Profile
from failover_otp.providers.sms_parts import sms_parts

log = structlog.get_logger(__name__)

_MAX_REMEMBERED = 200_000
# A message is forgotten this long (real seconds) after its last report, or after its ttl when
# nothing more is reported about it: a long run stays flat (docs/routee.md). Tracking look-ups
# and the control API's counts then no longer know it.
FINISHED_RETENTION_SECONDS = 600.0
# The send keys of refused-first outcomes are remembered up to this many (then forgotten anew).
_ATTEMPT_KEYS_KEPT = 10_000


class SimRefused(Exception):
    """The simulated Routee refused the send (an HTTP 4xx/5xx on the wire)."""

    def __init__(self, http_status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message


@dataclass(slots=True)
class SimMessage:
    message_id: str
    channel: Channel
    to: str
    body: str
    ttl_seconds: float | None
    outcome: Outcome
    accepted_mono: float
    accepted_at: datetime
    parts: int
    price: float
    country: str | None
    operator: str | None
    label: str | None
    extra: dict[str, Any] = field(default_factory=dict)
    reported: StepStatus = StepStatus.QUEUED
    attempt_key: str = ""


@dataclass(frozen=True, slots=True)
class SimReport:
    message: SimMessage
    status: StepStatus
    detailed_status: str
    at: datetime
    final: bool = True  # the message's last report (a callback strategy OnCompletion gets these)


SimSink = Callable[[SimReport], Coroutine[object, object, None]]


class RouteeSim:
    """In-memory Routee. ``time_scale`` speeds up every delay of the outcome table; every
    accepted send is paid from ``account`` (by default one with the sandbox's opening balance)."""

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        account: Account | None = None,
        profile: Profile | None = None,
    ) -> None:
        self.time_scale = time_scale
        # Where outcomes come from: the contract's digit table unless a named profile is chosen.
        self.profile: Profile = profile if profile is not None else DigitTable()
        self.account = account if account is not None else Account()
        self.messages: OrderedDict[str, SimMessage] = OrderedDict()
        # Accepted sends per idempotence key: tests prove no message is ever sent twice.
        self.accepted: Counter[str] = Counter()
        self.accepted_total = 0  # every accepted send, forgotten messages too
        self._attempts: Counter[str] = Counter()
        self._sink: SimSink | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Each message's latest push: the next batch waits for it, so a slow push (a busy
        # receiver) is never overtaken by the message's next batch.
        self._last_push: dict[str, asyncio.Task[None]] = {}
        # Pending report timers by a key of their own, dropped once fired (a long run stays flat).
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._next_timer = 0
        # (when to forget it, monotonic seconds; message id): the earliest first
        self._forget: list[tuple[float, str]] = []
        self.retention_seconds = FINISHED_RETENTION_SECONDS

    def set_sink(self, sink: SimSink | None) -> None:
        self._sink = sink

    def accept(
        self,
        *,
        channel: Channel,
        to: str,
        body: str,
        ttl_seconds: float | None,
        label: str | None = None,
        attempt_key: str,
        extra: dict[str, Any] | None = None,
    ) -> SimMessage:
        """Take a send or raise :class:`SimRefused` as the outcome table says."""
        country, operator = describe(to)
        accepted_at = datetime.now(UTC)
        outcome = self.profile.outcome(
            channel,
            to,
            ttl_seconds=ttl_seconds,
            operator_key=f"{country or ''}/{operator or ''}",
            at=accepted_at,
        )
        if outcome.refusal is Refusal.UNAVAILABLE_FIRST:
            if len(self._attempts) >= _ATTEMPT_KEYS_KEPT:
                self._attempts.clear()
            self._attempts[attempt_key] += 1
            if self._attempts[attempt_key] % 2 == 1:
                raise SimRefused(503, "503000000", "Service temporarily unavailable")
        elif outcome.refusal is Refusal.BAD_SENDER:
            raise SimRefused(400, "400005000", "Invalid sender id")
        elif outcome.refusal is Refusal.INSUFFICIENT_BALANCE:
            raise SimRefused(400, "400001009", "Not enough balance")
        parts = sms_parts(body) if channel is Channel.SMS else 1
        price = price_for(channel, parts)
        if not self.account.charge(price):
            raise SimRefused(400, "400001009", "Not enough balance")
        message = SimMessage(
            message_id=str(uuid.uuid4()),
            channel=channel,
            to=to,
            body=body,
            ttl_seconds=ttl_seconds,
            outcome=outcome,
            accepted_mono=time.monotonic(),
            accepted_at=accepted_at,
            parts=parts,
            price=price,
            country=country,
            operator=operator,
            label=label,
            extra=dict(extra or {}),
            attempt_key=attempt_key,
        )
        self._remember(message)
        self.accepted[attempt_key] += 1
        self.accepted_total += 1
        self._schedule(message)
        return message

    def find(self, message_id: str) -> SimMessage | None:
        return self.messages.get(message_id)

    def current(self, message: SimMessage) -> tuple[StepStatus, str | None]:
        """Status of ``message`` now, whether or not its report was pushed."""
        report = self.current_report(message)
        if report is None:
            return StepStatus.QUEUED, None
        return report.status, report.detailed_status

    def current_report(self, message: SimMessage) -> ScheduledReport | None:
        """The outcome-table report ``message`` is at now (None: still queued)."""
        elapsed = (time.monotonic() - message.accepted_mono) * self.time_scale
        return status_at(message.outcome, elapsed, message.ttl_seconds)

    def reported_at(self, message: SimMessage, report: ScheduledReport) -> datetime:
        """Wall-clock time at which ``report`` of ``message`` happens(ed)."""
        delay = report_delay(report, message.ttl_seconds) / self.time_scale
        return message.accepted_at + timedelta(seconds=delay)

    @property
    def pushes_pending(self) -> int:
        """Reports scheduled or being pushed (0: every report so far was handed to the sink)."""
        return len(self._timers) + len(self._tasks)

    def reset(self) -> None:
        """Forget every message, count and pending report (the wire sandbox's control API)."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self._last_push.clear()
        self.messages.clear()
        self._forget.clear()
        self.accepted.clear()
        self.accepted_total = 0
        self._attempts.clear()
        self.account.reset()

    def _remember(self, message: SimMessage) -> None:
        now = time.monotonic()
        while self._forget and self._forget[0][0] <= now:
            self._drop(heapq.heappop(self._forget)[1])
        self.messages[message.message_id] = message
        delays = [report_delay(r, message.ttl_seconds) for r in message.outcome.reports]
        finished = max(delays, default=message.ttl_seconds or 0.0) / self.time_scale
        forget_at = message.accepted_mono + finished + self.retention_seconds
        heapq.heappush(self._forget, (forget_at, message.message_id))
        while len(self.messages) > _MAX_REMEMBERED:
            self._drop(next(iter(self.messages)))

    def _drop(self, message_id: str) -> None:
        message = self.messages.pop(message_id, None)
        if message is not None and self.accepted.get(message.attempt_key, 0) <= 1:
            self.accepted.pop(message.attempt_key, None)

    def _schedule(self, message: SimMessage) -> None:
        if not message.outcome.callbacks:
            return
        loop = asyncio.get_running_loop()
        order = report_order(message.body)
        for delay, batch in push_schedule(message.outcome, order, message.ttl_seconds):
            self._next_timer += 1
            key = self._next_timer
            handle = loop.call_later(delay / self.time_scale, self._fire, message, batch, key)
            self._timers[key] = handle

    def _fire(self, message: SimMessage, batch: tuple[ScheduledReport, ...], key: int) -> None:
        self._timers.pop(key, None)
        message.reported = batch[-1].status
        if self._sink is None:
            return
        final = message.outcome.reports[-1]
        reports = [
            # Stamped with when the status happened, however late or out of order it is pushed.
            SimReport(
                message,
                r.status,
                r.detailed_status,
                self.reported_at(message, r),
                final=r is final,
            )
            for r in batch
        ]
        message_id = message.message_id
        earlier = self._last_push.get(message_id)
        task = asyncio.get_running_loop().create_task(self._push_in_order(reports, earlier))
        self._tasks.add(task)
        self._last_push[message_id] = task

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and (error := finished.exception()) is not None:
                log.warning("sandbox report push failed", message_id=message_id, error=str(error))
            if self._last_push.get(message_id) is finished:
                del self._last_push[message_id]

        task.add_done_callback(done)

    async def _push_in_order(
        self, reports: list[SimReport], earlier: asyncio.Task[None] | None
    ) -> None:
        if earlier is not None:
            # Its outcome is its own (a failed push is that batch's loss): only its end matters.
            await asyncio.wait([earlier])
        for report in reports:
            if self._sink is not None:
                await self._sink(report)

    async def aclose(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self._last_push.clear()
