"""In-memory twins of the flows store, the deadline queue and the pending steps (``FlowStore``,
``PendingStore``): the same version check, lease rules and orders, on ``MemoryState``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from failover_otp.domain.aggregate import is_settled
from failover_otp.domain.code_text import redact_request
from failover_otp.domain.flow import DeadlineKind, Flow, FlowKind
from failover_otp.domain.outbox import NewWebhookEvent
from failover_otp.domain.records import ClaimedDeadline, FlowMeta, FlowRecord, WaitingStep
from failover_otp.domain.spend import micros
from failover_otp.store.memory_outbox import add_events
from failover_otp.store.memory_state import DeadlineRow, MemoryState, StoredFlow

_WAITING_KINDS = (DeadlineKind.STEP_TTL.value, DeadlineKind.DELIVERED_WAIT.value)


class MemoryFlows:
    """``FlowRecords`` and ``DeadlineQueue`` (one object, as ``FlowStore`` is both)."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def create(
        self, flow: Flow, meta: FlowMeta, *, webhooks: Sequence[NewWebhookEvent] = ()
    ) -> None:
        if flow.id in self.state.flows or any(
            s.tracking_id in self.state.tracking for s in flow.steps
        ):
            raise ValueError(f"flow {flow.id} (or one of its tracking ids) is stored already")
        self.state.flows[flow.id] = StoredFlow(flow, meta)
        self._index_steps(flow)
        self._write_deadline(None, flow)
        add_events(self.state, webhooks)

    async def save(
        self, old: Flow, new: Flow, meta: FlowMeta, *, webhooks: Sequence[NewWebhookEvent] = ()
    ) -> bool:
        stored = self.state.flows.get(new.id)
        if stored is None or stored.flow.version != old.version:
            return False
        stored.flow = replace(new, version=old.version + 1)
        self._index_steps(new)
        self._write_deadline(old, new)
        add_events(self.state, webhooks)
        self._scrub_ended(stored, old, new)
        self._settle_spend(old, new)
        return True

    async def load(self, flow_id: str) -> FlowRecord | None:
        stored = self.state.flows.get(flow_id)
        return FlowRecord(stored.flow, stored.meta) if stored else None

    async def find(self, application_id: str, any_id: str) -> FlowRecord | None:
        record = await self.load(any_id)
        if record is None:
            flow_id = self.state.tracking.get(any_id)
            record = await self.load(flow_id) if flow_id else None
        if record is None or record.flow.application_id != application_id:
            return None
        return record

    async def load_by_tracking(self, tracking_id: str) -> FlowRecord | None:
        flow_id = self.state.tracking.get(tracking_id)
        return await self.load(flow_id) if flow_id else None

    # -- the deadline queue ----------------------------------------------------------------------

    async def claim_due(
        self, *, now: datetime, worker_id: str, lease_until: datetime, limit: int
    ) -> list[ClaimedDeadline]:
        due = sorted(
            (row.due_at, flow_id)
            for flow_id, row in self.state.deadlines.items()
            if row.due_at <= now and _unclaimed(row, now)
        )[:limit]
        claimed = []
        for _, flow_id in due:
            row = self.state.deadlines[flow_id]
            row.claimed_by, row.lease_until = worker_id, lease_until
            claimed.append(ClaimedDeadline(flow_id, row.kind, row.step_index, row.due_at))
        return claimed

    async def next_claimable_at(self, now: datetime) -> datetime | None:
        return min(
            (r.due_at for r in self.state.deadlines.values() if _unclaimed(r, now)), default=None
        )

    async def next_due_at(self) -> datetime | None:
        return min((r.due_at for r in self.state.deadlines.values()), default=None)

    async def pending_count(self) -> int:
        return len(self.state.deadlines)

    # -- what a save writes with the flow -------------------------------------------------------

    def _index_steps(self, flow: Flow) -> None:
        for step in flow.steps:
            self.state.tracking[step.tracking_id] = flow.id

    def _write_deadline(self, old: Flow | None, new: Flow) -> None:
        if old is not None and old.deadline == new.deadline:
            return
        if new.deadline is None:
            self.state.deadlines.pop(new.id, None)
            return
        # A new deadline is unclaimed.
        self.state.deadlines[new.id] = DeadlineRow(
            new.deadline.due_at, new.deadline.kind.value, new.deadline.step_index
        )

    def _scrub_ended(self, stored: StoredFlow, old: Flow, new: Flow) -> None:
        """``code_store.scrub_ended``: a settled OTP flow keeps no code to send."""
        if new.kind is not FlowKind.OTP or is_settled(old) or not is_settled(new):
            return
        code = self.state.codes.get(new.id)
        if code is not None:
            self.state.codes[new.id] = replace(code, code_cipher=None)
        stored.meta = replace(stored.meta, request=redact_request(stored.meta.request))

    def _settle_spend(self, old: Flow, new: Flow) -> None:
        """``spend_store.settle``: an ended flow's reservation leaves ``reserved``, its charge
        joins ``spent`` (and a later change of the charge too)."""
        if not new.status.is_terminal:
            return
        if old.status.is_terminal and new.total_cost == old.total_cost:
            return
        reservation = self.state.reservations.get(new.id)
        if reservation is None:
            return
        charged = micros(new.total_cost)
        if reservation.charged is None:
            released, added = reservation.amount, charged
        else:
            released, added = 0, charged - reservation.charged
        day = self.state.spend_days.get((reservation.application_id, reservation.day))
        if day is not None and (released or added):
            day[0] -= released
            day[1] += added
        reservation.charged = charged


class MemoryPendingSteps:
    """``PendingSteps``: steps a flow waits on, in (due_at, flow_id) order from a cursor."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def waiting_steps(
        self, *, now: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> Sequence[WaitingStep]:
        found = []
        for flow_id, row in self.state.deadlines.items():
            if row.kind not in _WAITING_KINDS or row.due_at <= now:
                continue
            if after is not None and (row.due_at, flow_id) <= after:
                continue
            stored = self.state.flows.get(flow_id)
            step = stored.flow.step_for(row.step_index) if stored else None
            if step is None:
                continue
            found.append(
                WaitingStep(
                    flow_id=flow_id,
                    step_index=row.step_index,
                    tracking_id=step.tracking_id,
                    channel=step.channel.value,
                    status=step.status.value,
                    due_at=row.due_at,
                )
            )
        return sorted(found, key=lambda w: w.cursor)[:limit]


def _unclaimed(row: DeadlineRow, now: datetime) -> bool:
    return row.lease_until is None or row.lease_until < now
