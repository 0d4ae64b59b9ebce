"""Flow orchestration: every way a flow moves (send, report, deadline, read) goes through here."""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace

import structlog

from failover_otp.domain.commands import NotifyChange
from failover_otp.domain.delivery_model import EMPTY_MODEL, DeliveryModel
from failover_otp.domain.events import (
    Cancel,
    DeadlineReached,
    Event,
    SendAccepted,
    Start,
    StatusReported,
)
from failover_otp.domain.flow import DeadlineKind, Flow, FlowKind, StepPlan
from failover_otp.domain.machine import Decision, decide
from failover_otp.domain.outbox import NewWebhookEvent
from failover_otp.domain.records import ClaimedDeadline, FlowMeta, FlowRecord
from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.metrics import (
    FAILOVERS,
    FLOWS_ENDED,
    FLOWS_STARTED,
    register_cache,
)
from failover_otp.providers.base import (
    DeliveryReport,
    Provider,
    ProviderError,
)
from failover_otp.retrying import Backoff, retry
from failover_otp.services.clock import Clock
from failover_otp.services.delivery_history import DeliveryHistory
from failover_otp.services.errors import Unavailable
from failover_otp.services.flow_locks import FlowLocks
from failover_otp.services.ports import FlowRecords
from failover_otp.services.step_sender import SendPreparer, StepSender
from failover_otp.services.webhooks import WebhookEvents

log = structlog.get_logger(__name__)

# A report can outrun the save of the send it reports on: it is tried 4 more times over ~3 s
# (0.2, 0.4, 0.8, 1.6 s apart, + jitter) before it is dropped (the step's deadline still looks
# the message up, so nothing is lost for good).
_UNMATCHED_REPORT_BACKOFF = Backoff(attempts=5, wait_initial=0.2, wait_max=2.0, wait_jitter=0.1)
_MAX_SAVE_CONFLICTS = 20
_LOOKUP_INTERVAL_SECONDS = 1.0
_LOOKUP_MAX_INTERVAL = 30.0
# The messages a read asked about lately (~150 bytes each): when the memory is full it starts
# afresh, which at worst lets one more look-up through per message.
LOOKUP_MEMORY = 10_000
# The look-up throttle's clock (a name of its own, so a test can move it without moving asyncio's).
monotonic = time.monotonic

ChangeListener = Callable[[FlowRecord], Awaitable[None]]


class _ReportUnmatched(Exception):
    """A delivery report names a message no saved flow holds (yet)."""


class FlowService:
    def __init__(
        self,
        store: FlowRecords,
        provider: Provider,
        clock: Clock,
        *,
        time_scale: float = 1.0,
        on_change: ChangeListener | None = None,
        webhooks: WebhookEvents | None = None,
        history: DeliveryHistory | None = None,
        prepare_send: SendPreparer | None = None,
    ) -> None:
        self.store = store
        self.provider = provider
        self.clock = clock
        self.time_scale = time_scale
        self.on_change = on_change
        # Customer webhooks join the outbox in the transaction that saves the change.
        self.webhooks = webhooks
        # The delivery model: fed every step's end, read by "ttl": "auto" steps.
        self.history = history
        self._locks = FlowLocks()
        self._background: set[asyncio.Task[None]] = set()
        # tracking id -> when a read last asked the provider about it (monotonic seconds), and
        # how many times reads asked
        self._looked_up: dict[str, tuple[float, int]] = {}
        register_cache("read_lookups", self._looked_up.__len__, LOOKUP_MEMORY)
        self._sender = StepSender(provider, prepare_send)

    async def start_flow(
        self,
        *,
        application_id: str,
        kind: FlowKind,
        plans: tuple[StepPlan, ...],
        meta: FlowMeta,
        flow_id: str | None = None,
    ) -> FlowRecord:
        """Store a new flow and send its first step (and the next, if the first is refused).

        ``flow_id`` is given when the caller fixed it beforehand (an Idempotency-Key record).
        """
        now = self.clock.now()
        flow = Flow(
            id=flow_id or str(uuid.uuid4()),
            application_id=application_id,
            kind=kind,
            plans=plans,
            created_at=now,
            updated_at=now,
        )
        # The flow is stored already started (its first step about to be sent): one write
        # instead of storing it new, reading it back and saving the start.
        decision = decide(flow, Start(), now=now, time_scale=self.time_scale)
        if decision.flow is flow:
            await self.store.create(flow, meta)
            FLOWS_STARTED.labels(kind.value).inc()
            return FlowRecord(flow, meta)
        # Version 1, as if stored new (version 0) and then saved started.
        started = FlowRecord(replace(decision.flow, version=1), meta)
        webhooks = self._webhook_events(FlowRecord(flow, meta), decision)
        await self.store.create(started.flow, meta, webhooks=webhooks)
        FLOWS_STARTED.labels(kind.value).inc()
        _count_transition(flow, decision.flow)
        return await self._run(started, decision)

    async def apply(
        self, flow_id: str, event: Event, *, current: FlowRecord | None = None
    ) -> FlowRecord | None:
        """Apply ``event`` to the flow, save the result, then run what the core asked for.

        ``current`` is the flow as this process last saved it: the event is decided on it without
        reading the flow back. If anyone saved the flow since, the save finds a newer version
        and the event is decided again on what the database holds.
        """
        outcome = await self._decide_and_save(flow_id, event, current)
        if outcome is None:
            return None
        record, decision = outcome
        return record if decision is None else await self._run(record, decision)

    async def _decide_and_save(
        self, flow_id: str, event: Event, current: FlowRecord | None
    ) -> tuple[FlowRecord, Decision | None] | None:
        """The flow as saved after ``event`` and the decision that moved it (None: the event
        changed nothing, the flow is returned as loaded); None when there is no such flow."""
        async with self._locks.hold(flow_id):
            for _ in range(_MAX_SAVE_CONFLICTS):
                record = current or await self.store.load(flow_id)
                current = None
                if record is None:
                    return None
                decision = decide(
                    record.flow,
                    event,
                    now=self.clock.now(),
                    time_scale=self.time_scale,
                    model=await self._model_for(event),
                )
                if decision.flow is record.flow:
                    return record, None
                outbox = self._webhook_events(record, decision)
                if await self.store.save(record.flow, decision.flow, record.meta, webhooks=outbox):
                    _count_transition(record.flow, decision.flow)
                    if self.history is not None:
                        await self.history.record_change(
                            record.flow, decision.flow, self.time_scale
                        )
                    break
                # Another process saved this flow in between: decide again on its state.
            else:
                raise RuntimeError(f"flow {flow_id}: too many concurrent updates")
        saved = replace(decision.flow, version=record.flow.version + 1)
        return FlowRecord(saved, record.meta), decision

    async def _model_for(self, event: Event) -> DeliveryModel:
        # Only an accepted send chooses a ttl; other events need no snapshot.
        if self.history is None or not isinstance(event, SendAccepted):
            return EMPTY_MODEL
        return await self.history.snapshot()

    async def _run(self, record: FlowRecord, decision: Decision) -> FlowRecord:
        """Carry out the commands of a saved decision (``record`` is the saved flow).

        A work queue, not recursion: a send's answer is decided and saved here, and the commands
        it brings (the next channel's send, a notification) join the queue.
        """
        commands = deque(decision.commands)
        while commands:
            command = commands.popleft()
            if isinstance(command, NotifyChange):
                if self.on_change is not None:
                    await self.on_change(record)
                continue
            answer = await self._sender.send(record, command)
            if answer is None:
                continue
            outcome = await self._decide_and_save(record.flow.id, answer, record)
            if outcome is None:
                continue
            record, next_decision = outcome
            if next_decision is not None:
                commands.extend(next_decision.commands)
        return record

    def _webhook_events(self, loaded: FlowRecord, decision: Decision) -> list[NewWebhookEvent]:
        if self.webhooks is None or NotifyChange() not in decision.commands:
            return []
        return self.webhooks.for_change(
            FlowRecord(decision.flow, loaded.meta),
            version=loaded.flow.version + 1,
            now=decision.flow.updated_at,
        )

    async def report(self, report: DeliveryReport) -> None:
        """A delivery report pushed by the provider."""
        record = await self.store.load_by_tracking(report.message_id)
        if record is None:
            self._later(0.0, functools.partial(self._report_once_saved, report))
            return
        await self.apply(record.flow.id, _reported(report), current=record)

    async def _report_once_saved(self, report: DeliveryReport) -> None:
        """A report that matched no message yet, tried again (in the background) with backoff."""

        async def saved() -> FlowRecord:
            record = await self.store.load_by_tracking(report.message_id)
            if record is None:
                raise _ReportUnmatched(report.message_id)
            return record

        try:
            record = await retry(
                saved,
                on=_ReportUnmatched,
                backoff=_UNMATCHED_REPORT_BACKOFF,
                failed=_ReportUnmatched(report.message_id),
            )
        except _ReportUnmatched:
            log.info("report for unknown message dropped", message_id=report.message_id)
            return
        await self.apply(record.flow.id, _reported(report), current=record)

    async def fire(self, claimed: ClaimedDeadline) -> None:
        """A due deadline claimed by the worker."""
        current = None
        if claimed.kind == DeadlineKind.STEP_TTL.value:
            # The provider may know a final status we were never told (no callback).
            record = await self.store.load(claimed.flow_id)
            if record is not None and not await self._refresh_step(record, claimed.step_index):
                current = record  # unchanged: the deadline is decided on it without a re-read
        await self.apply(
            claimed.flow_id,
            DeadlineReached(DeadlineKind(claimed.kind), claimed.step_index),
            current=current,
        )

    async def read(self, application_id: str, any_id: str) -> FlowRecord | None:
        """The flow (by flow id or any step's tracking id), pending steps refreshed first."""
        record = await self.store.find(application_id, any_id)
        if record is None:
            return None
        refreshed = False
        for step in record.flow.steps:
            if (
                # Queued, or an SMS `Sent` whose final report may still withdraw its success.
                step.status.awaits_verdict
                and step.status is not StepStatus.SENDING
                and self._lookup_due(step.tracking_id)
            ):
                refreshed = await self._refresh_step(record, step.index) or refreshed
        if refreshed:
            record = await self.store.load(record.flow.id) or record
        return record

    def _lookup_due(self, tracking_id: str) -> bool:
        """Whether a read may ask the provider about this message again. Reports are pushed;
        the look-up only covers a lost one, so clients polling a flow must not turn every read
        into a provider call: the first read asks, then at most once a (scaled) second, and
        the wait doubles with each look-up up to 30 s (the pending poller asks about every
        waiting message every 15 s anyway)."""
        now = monotonic()
        last = self._looked_up.get(tracking_id)
        asked = 0
        if last is not None:
            at, asked = last
            wait = min(_LOOKUP_INTERVAL_SECONDS * 2 ** max(0, asked - 1), _LOOKUP_MAX_INTERVAL)
            if now - at < wait / self.time_scale:
                return False
        if len(self._looked_up) >= LOOKUP_MEMORY:
            self._looked_up.clear()
        self._looked_up[tracking_id] = (now, asked + 1)
        return True

    async def look_up(self, channel: Channel, tracking_id: str) -> DeliveryReport | None:
        """What the provider says about a message now (None: it knows nothing of it); raises
        ``Unavailable`` when it could not be asked. The pending-message poller's question."""
        try:
            return await self.provider.lookup(channel, tracking_id)
        except ProviderError as exc:
            raise Unavailable(str(exc), retry_after=1) from exc

    async def cancel(self, flow_id: str, reason: str) -> FlowRecord | None:
        return await self.apply(flow_id, Cancel(reason))

    async def _refresh_step(self, record: FlowRecord, index: int) -> bool:
        flow_id = record.flow.id
        step = record.flow.step_for(index)
        if step is None or step.status is StepStatus.SENDING:
            return False
        try:
            report = await self.provider.lookup(step.channel, step.tracking_id)
        except ProviderError as exc:
            log.warning("status look-up failed", flow_id=flow_id, error=str(exc))
            return False
        if report is None or report.status is step.status:
            return False
        await self.apply(flow_id, _reported(report), current=record)
        return True

    def _later(self, delay: float, work: Callable[[], Awaitable[None]]) -> None:
        # The coroutine is made only when its time comes: a task cancelled while it sleeps (at
        # shutdown) must not leave a never-awaited coroutine behind.

        async def run() -> None:
            await asyncio.sleep(delay)
            await work()

        task = asyncio.get_running_loop().create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
        self._background.clear()
        if self.history is not None:
            await self.history.flush()


def _count_transition(old: Flow, new: Flow) -> None:
    # A success withdrawn after an SMS `Sent` ends the flow again, as Failed: counted too.
    if new.status.is_terminal and new.status is not old.status:
        FLOWS_ENDED.labels(new.status.value).inc()
    if len(new.steps) > len(old.steps) and len(new.steps) > 1:
        FAILOVERS.labels(new.steps[-1].channel.value).inc()


def _reported(report: DeliveryReport) -> StatusReported:
    return StatusReported(
        tracking_id=report.message_id,
        status=report.status,
        detailed_status=report.detailed_status,
        price=report.price,
        at=report.at,
        answered_by=report.answered_by,
        call_seconds=report.call_seconds,
    )
