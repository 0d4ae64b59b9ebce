"""WebhookOutbox: each flow's events in order, leased claims, who may settle an attempt."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

import pytest
from tests.support.stored_records import T0, webhook

from failover_otp.domain.outbox import DEAD, DELIVERED, PENDING, WebhookEvent
from failover_otp.services.storage import Storage

pytestmark = pytest.mark.asyncio(loop_scope="session")
A, B = "http://127.0.0.1:9/a", "http://127.0.0.1:9/b"


async def claimed(
    storage: Storage,
    at: datetime | int = T0,
    worker: str = "w1",
    *,
    limit: int = 10,
    skip_applications: Collection[str] = (),
    skip_hosts: Collection[str] = (),
) -> list[WebhookEvent]:
    """Claim as ``worker`` at ``at`` (a moment, or seconds after T0) with a 30 s lease."""
    now = at if isinstance(at, datetime) else T0 + timedelta(seconds=at)
    return await storage.outbox.claim_due(
        now=now,
        worker_id=worker,
        lease_until=now + timedelta(seconds=30),
        limit=limit,
        skip_applications=skip_applications,
        skip_hosts=skip_hosts,
    )


def ids(events: list[WebhookEvent]) -> list[str]:
    return [e.event_id for e in events]


async def test_only_each_flows_oldest_pending_event_is_claimable(storage: Storage) -> None:
    a = [webhook("flow-a", n, url=A) for n in (1, 2, 3)]
    b = [webhook("flow-b", 1, url=B)]
    await storage.outbox.enqueue([a[0], b[0], a[1], a[2]])
    first = await claimed(storage, T0)
    assert [e.event_id for e in first] == [a[0].event_id, b[0].event_id]
    assert first[0].target_host == "127.0.0.1:9"
    assert ids(await claimed(storage)) == []  # leased
    for event in first:
        await storage.outbox.mark_delivered(event.seq, attempts=1, now=T0)
    second = await claimed(storage, T0)
    assert [e.event_id for e in second] == [a[1].event_id]
    # A failed attempt waits for its retry time, and holds the flow's later events back.
    retry_at = T0 + timedelta(hours=1)
    assert await storage.outbox.mark_failed(
        second[0].seq, worker_id="w1", attempts=1, error="HTTP 500", retry_at=retry_at
    )
    assert ids(await claimed(storage)) == []
    later = await claimed(storage, retry_at)
    assert [e.event_id for e in later] == [a[1].event_id]
    assert later[0].attempts == 1
    assert later[0].last_error == "HTTP 500"
    # Only the claim holder may settle a failure; a dead event lets the next one through.
    assert not await storage.outbox.mark_failed(
        later[0].seq, worker_id="someone-else", attempts=2, error="x", retry_at=None
    )
    assert await storage.outbox.mark_failed(
        later[0].seq, worker_id="w1", attempts=2, error="gave up", retry_at=None
    )
    assert ids(await claimed(storage, retry_at)) == [a[2].event_id]
    assert await storage.outbox.counts() == {PENDING: 1, DELIVERED: 2, DEAD: 1}
    delivered = (await storage.outbox.events("flow-a"))[0]
    assert delivered.status == DELIVERED
    assert delivered.delivered_at == T0


async def test_an_expired_lease_hands_the_event_to_another_worker(storage: Storage) -> None:
    await storage.outbox.enqueue([webhook("flow-a", 1)])
    [mine] = await claimed(storage, T0, "w1")
    assert ids(await claimed(storage, 29, "w2")) == []
    [theirs] = await claimed(storage, 31, "w2")
    assert theirs.event_id == mine.event_id
    assert not await storage.outbox.mark_failed(
        mine.seq, worker_id="w1", attempts=1, error="late", retry_at=T0
    )


async def test_claims_are_earliest_first_bounded_and_skip_busy_applications_and_hosts(
    storage: Storage,
) -> None:
    events = [
        webhook("f1", 1, app_id="app-1", url=A, now=T0 + timedelta(seconds=3)),
        webhook("f2", 1, app_id="app-2", url=A, now=T0 + timedelta(seconds=1)),
        webhook("f3", 1, app_id="app-1", url="https://example.test/h", now=T0),
    ]
    await storage.outbox.enqueue(events)
    at = T0 + timedelta(seconds=5)
    assert ids(await claimed(storage, at, limit=2, skip_applications=["app-2"])) == ["f1-1", "f3-1"]
    await storage.outbox.release([e.seq for e in await storage.outbox.events()], worker_id="w1")
    assert ids(await claimed(storage, at, limit=2)) == ["f2-1", "f3-1"]  # by due time, then by seq
    await storage.outbox.release([e.seq for e in await storage.outbox.events()], worker_id="w1")
    assert ids(await claimed(storage, at, skip_hosts=["127.0.0.1:9"])) == ["f3-1"]
    # Only the holder's release frees an event.
    await storage.outbox.release([e.seq for e in await storage.outbox.events()], worker_id="w9")
    assert ids(await claimed(storage, at, "w2")) == ["f1-1", "f2-1"]


async def test_gone_kills_every_pending_event_to_the_same_url(storage: Storage) -> None:
    await storage.outbox.enqueue(
        [webhook("f1", 1, url=A), webhook("f2", 1, url=A), webhook("f3", 1, url=B)]
    )
    first = (await claimed(storage, T0, limit=1))[0]
    dropped = await storage.outbox.disable_endpoint(
        first, attempts=1, error="HTTP 410", reason="endpoint gone"
    )
    assert dropped == 1
    stored = {e.event_id: e for e in await storage.outbox.events()}
    assert stored["f1-1"].status == DEAD
    assert stored["f1-1"].last_error == "HTTP 410"
    assert stored["f2-1"].status == DEAD
    assert stored["f2-1"].last_error == "endpoint gone"
    assert stored["f3-1"].status == PENDING
    assert await storage.outbox.counts() == {PENDING: 1, DELIVERED: 0, DEAD: 2}
