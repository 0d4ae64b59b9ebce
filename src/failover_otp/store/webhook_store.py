"""The customer-webhook outbox: events written with their flow, claimed and settled by workers.

A flow's events are delivered in order: only the oldest pending event of a flow (its *head*) can
be claimed, so event n+1 waits until n is delivered or dead. Claims are leased like deadlines
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so any number of workers share the outbox and the
events of a worker that died mid-attempt are retried once the lease runs out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from failover_otp.domain.outbox import (
    DEAD,
    DELIVERED,
    PENDING,
    NewWebhookEvent,
    WebhookEvent,
    target_host,
)
from failover_otp.store.database import Database
from failover_otp.store.tables import webhook_outbox


def _values(event: NewWebhookEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "flow_id": event.flow_id,
        "application_id": event.application_id,
        "url": event.url,
        "target_host": target_host(event.url),
        "body": event.body,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": event.created_at,
        "created_at": event.created_at,
    }


_COLUMNS = (
    webhook_outbox.c.seq,
    webhook_outbox.c.event_id,
    webhook_outbox.c.flow_id,
    webhook_outbox.c.application_id,
    webhook_outbox.c.url,
    webhook_outbox.c.body,
    webhook_outbox.c.status,
    webhook_outbox.c.attempts,
    webhook_outbox.c.next_attempt_at,
    webhook_outbox.c.created_at,
    webhook_outbox.c.delivered_at,
    webhook_outbox.c.last_error,
    webhook_outbox.c.target_host,
)


def _event(row: Any) -> WebhookEvent:
    return WebhookEvent(**dict(row._mapping))


async def insert_events(conn: AsyncConnection, events: Sequence[NewWebhookEvent]) -> None:
    """Add ``events`` to the outbox inside the caller's transaction (see ``FlowStore.save``)."""
    if events:
        await conn.execute(insert(webhook_outbox), [_values(e) for e in events])


class WebhookStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def enqueue(self, events: Sequence[NewWebhookEvent]) -> None:
        async with self.db.write() as conn:
            await insert_events(conn, events)

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
        """Claim up to ``limit`` due events, at most one per flow: its oldest pending one;
        none of ``skip_applications`` nor to ``skip_hosts`` (they have their share in flight)."""
        head = webhook_outbox.alias("head")
        earlier = webhook_outbox.alias("earlier")
        conditions = [
            head.c.status == PENDING,
            head.c.next_attempt_at <= now,
            or_(head.c.lease_until.is_(None), head.c.lease_until < now),
            ~exists().where(
                earlier.c.flow_id == head.c.flow_id,
                earlier.c.status == PENDING,
                earlier.c.seq < head.c.seq,
            ),
        ]
        if skip_applications:
            conditions.append(head.c.application_id.not_in(list(skip_applications)))
        if skip_hosts:
            conditions.append(
                or_(head.c.target_host.is_(None), head.c.target_host.not_in(list(skip_hosts)))
            )
        due = (
            select(head.c.seq)
            .where(*conditions)
            .order_by(head.c.next_attempt_at, head.c.seq)
            .limit(limit)
            .with_for_update(skip_locked=True, of=head)
        )
        stmt = (
            update(webhook_outbox)
            .where(webhook_outbox.c.seq.in_(due.scalar_subquery()))
            .values(claimed_by=worker_id, lease_until=lease_until)
            .returning(*_COLUMNS)
        )
        # One statement: on PostgreSQL it needs no BEGIN and COMMIT round trips around it.
        async with self.db.write_one() as conn:
            rows = (await conn.execute(stmt)).all()
        return sorted((_event(r) for r in rows), key=lambda e: e.seq)

    async def release(self, seqs: Sequence[int], *, worker_id: str) -> None:
        """Give back claimed events without an attempt (their application or host had its
        share in flight): any worker may claim them again at once."""
        if not seqs:
            return
        async with self.db.write_one() as conn:
            await conn.execute(
                update(webhook_outbox)
                .where(
                    webhook_outbox.c.seq.in_(list(seqs)),
                    webhook_outbox.c.status == PENDING,
                    webhook_outbox.c.claimed_by == worker_id,
                )
                .values(claimed_by=None, lease_until=None)
            )

    async def mark_delivered(self, seq: int, *, attempts: int, now: datetime) -> None:
        """A 2xx answer. Recorded whoever holds the claim now: a delivery is a delivery."""
        async with self.db.write_one() as conn:
            await conn.execute(
                update(webhook_outbox)
                .where(webhook_outbox.c.seq == seq, webhook_outbox.c.status == PENDING)
                .values(
                    status=DELIVERED,
                    attempts=attempts,
                    delivered_at=now,
                    claimed_by=None,
                    lease_until=None,
                    last_error=None,
                )
            )

    async def mark_failed(
        self,
        seq: int,
        *,
        worker_id: str,
        attempts: int,
        error: str,
        retry_at: datetime | None,
    ) -> bool:
        """A failed attempt: retry at ``retry_at``, or give up (dead) when it is None.

        Only the worker that holds the claim may reschedule (False otherwise: the lease ran out
        and another worker owns the event now).
        """
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_error": error[:2000],
            "claimed_by": None,
            "lease_until": None,
        }
        if retry_at is None:
            values["status"] = DEAD
        else:
            values["next_attempt_at"] = retry_at
        async with self.db.write_one() as conn:
            result = await conn.execute(
                update(webhook_outbox)
                .where(
                    webhook_outbox.c.seq == seq,
                    webhook_outbox.c.status == PENDING,
                    webhook_outbox.c.claimed_by == worker_id,
                )
                .values(**values)
            )
        return bool(result.rowcount == 1)

    async def disable_endpoint(
        self, event: WebhookEvent, *, attempts: int, error: str, reason: str
    ) -> int:
        """The receiver answered ``event`` with 410 Gone: that event and every other pending one
        for the same URL (and application) are dead, in one transaction, so none of them can be
        claimed in between. Returns how many others were dropped."""
        async with self.db.write() as conn:
            await conn.execute(
                update(webhook_outbox)
                .where(webhook_outbox.c.seq == event.seq, webhook_outbox.c.status == PENDING)
                .values(
                    status=DEAD,
                    attempts=attempts,
                    last_error=error,
                    claimed_by=None,
                    lease_until=None,
                )
            )
            result = await conn.execute(
                update(webhook_outbox)
                .where(
                    webhook_outbox.c.application_id == event.application_id,
                    webhook_outbox.c.url == event.url,
                    webhook_outbox.c.status == PENDING,
                )
                .values(status=DEAD, last_error=reason, claimed_by=None, lease_until=None)
            )
        return int(result.rowcount)

    async def events(self, flow_id: str | None = None) -> list[WebhookEvent]:
        """Stored events in order (one flow's, or all), for operators and tests."""
        query = select(*_COLUMNS).order_by(webhook_outbox.c.seq)
        if flow_id is not None:
            query = query.where(webhook_outbox.c.flow_id == flow_id)
        async with self.db.read() as conn:
            return [_event(r) for r in (await conn.execute(query)).all()]

    async def counts(self) -> dict[str, int]:
        """How many events are pending, delivered and dead."""
        query = select(webhook_outbox.c.status, func.count()).group_by(webhook_outbox.c.status)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        found = {str(status): int(count) for status, count in rows}
        return {s: found.get(s, 0) for s in (PENDING, DELIVERED, DEAD)}


__all__ = [
    "DEAD",
    "DELIVERED",
    "PENDING",
    "NewWebhookEvent",
    "WebhookEvent",
    "WebhookStore",
    "insert_events",
    "target_host",
]
