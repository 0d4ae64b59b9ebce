"""In-memory twin of the webhook outbox (``WebhookStore``): each flow's events in order (only
its oldest pending one can be claimed), leased claims, the same settle rules."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from failover_otp.domain.outbox import (
    DEAD,
    DELIVERED,
    PENDING,
    NewWebhookEvent,
    WebhookEvent,
    target_host,
)
from failover_otp.store.memory_state import MemoryState, OutboxRow


def add_events(state: MemoryState, events: Sequence[NewWebhookEvent]) -> None:
    for e in events:
        seq = next(state.outbox_seq)
        state.outbox[seq] = OutboxRow(
            WebhookEvent(
                seq=seq,
                event_id=e.event_id,
                flow_id=e.flow_id,
                application_id=e.application_id,
                url=e.url,
                body=e.body,
                status=PENDING,
                attempts=0,
                next_attempt_at=e.created_at,
                created_at=e.created_at,
                target_host=target_host(e.url),
            )
        )


class MemoryOutbox:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def enqueue(self, events: Sequence[NewWebhookEvent]) -> None:
        add_events(self.state, events)

    async def claim_due(
        self,
        *,
        now: datetime,
        worker_id: str,
        lease_until: datetime,
        limit: int,
        skip_applications: Collection[str] = (),
        skip_hosts: Collection[str] = (),
    ) -> list[WebhookEvent]:
        heads: dict[str, OutboxRow] = {}
        for seq in sorted(self.state.outbox):
            row = self.state.outbox[seq]
            if row.event.status == PENDING and row.event.flow_id not in heads:
                heads[row.event.flow_id] = row
        due = [
            row
            for row in heads.values()
            if row.event.next_attempt_at <= now
            and (row.lease_until is None or row.lease_until < now)
            and row.event.application_id not in skip_applications
            and (row.event.target_host is None or row.event.target_host not in skip_hosts)
        ]
        due.sort(key=lambda r: (r.event.next_attempt_at, r.event.seq))
        for row in due[:limit]:
            row.claimed_by, row.lease_until = worker_id, lease_until
        return sorted((r.event for r in due[:limit]), key=lambda e: e.seq)

    async def release(self, seqs: Sequence[int], *, worker_id: str) -> None:
        for seq in seqs:
            row = self.state.outbox.get(seq)
            if row and row.event.status == PENDING and row.claimed_by == worker_id:
                row.claimed_by = row.lease_until = None

    async def mark_delivered(self, seq: int, *, attempts: int, now: datetime) -> None:
        row = self.state.outbox.get(seq)
        if row and row.event.status == PENDING:
            row.event = replace(
                row.event, status=DELIVERED, attempts=attempts, delivered_at=now, last_error=None
            )
            row.claimed_by = row.lease_until = None

    async def mark_failed(
        self,
        seq: int,
        *,
        worker_id: str,
        attempts: int,
        error: str,
        retry_at: datetime | None,
    ) -> bool:
        row = self.state.outbox.get(seq)
        if row is None or row.event.status != PENDING or row.claimed_by != worker_id:
            return False
        event = replace(row.event, attempts=attempts, last_error=error[:2000])
        if retry_at is None:
            event = replace(event, status=DEAD)
        else:
            event = replace(event, next_attempt_at=retry_at)
        row.event, row.claimed_by, row.lease_until = event, None, None
        return True

    async def disable_endpoint(
        self, event: WebhookEvent, *, attempts: int, error: str, reason: str
    ) -> int:
        row = self.state.outbox.get(event.seq)
        if row and row.event.status == PENDING:
            row.event = replace(row.event, status=DEAD, attempts=attempts, last_error=error)
            row.claimed_by = row.lease_until = None
        dropped = 0
        for other in self.state.outbox.values():
            e = other.event
            if (e.application_id, e.url, e.status) == (event.application_id, event.url, PENDING):
                other.event = replace(e, status=DEAD, last_error=reason)
                other.claimed_by = other.lease_until = None
                dropped += 1
        return dropped

    async def events(self, flow_id: str | None = None) -> list[WebhookEvent]:
        return [
            self.state.outbox[seq].event
            for seq in sorted(self.state.outbox)
            if flow_id is None or self.state.outbox[seq].event.flow_id == flow_id
        ]

    async def counts(self) -> dict[str, int]:
        found = dict.fromkeys((PENDING, DELIVERED, DEAD), 0)
        for row in self.state.outbox.values():
            found[row.event.status] = found.get(row.event.status, 0) + 1
        return {s: found[s] for s in (PENDING, DELIVERED, DEAD)}
