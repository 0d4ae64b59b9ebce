"""FlowRecords, DeadlineQueue and PendingSteps: the same behaviour on every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from tests.support.stored_records import (
    T0,
    accepted,
    an_application,
    decided,
    new_flow,
    started,
    stored_started,
    webhook,
)

from failover_otp.domain.code_records import CodeRow
from failover_otp.domain.events import Cancel, StatusReported
from failover_otp.domain.spend import Reservation, SpendDay, micros
from failover_otp.domain.statuses import FlowStatus, StepStatus
from failover_otp.services.storage import Storage

pytestmark = pytest.mark.asyncio(loop_scope="session")
DAY = timedelta(days=1)


async def test_a_flow_reads_back_as_stored_by_id_and_by_tracking_id(storage: Storage) -> None:
    await an_application(storage)
    record = await stored_started(storage)
    loaded = await storage.flows.load(record.flow.id)
    assert loaded == record
    step = record.flow.steps[0]
    assert await storage.flows.load_by_tracking(step.tracking_id) == record
    assert await storage.flows.find("app-1", record.flow.id) == record
    assert await storage.flows.find("app-1", step.tracking_id) == record
    # Another application's flow is not found; an unknown id neither.
    await an_application(storage, "app-2")
    assert await storage.flows.find("app-2", record.flow.id) is None
    assert await storage.flows.load("nope") is None
    assert await storage.flows.load_by_tracking("nope") is None


async def test_a_save_needs_the_version_it_was_loaded_at(storage: Storage) -> None:
    await an_application(storage)
    record = await stored_started(storage)
    moved = accepted(record.flow, T0 + timedelta(seconds=1), "msg-1")
    assert await storage.flows.save(record.flow, moved, record.meta)
    loaded = await storage.flows.load(record.flow.id)
    assert loaded is not None
    assert loaded.flow == replace(moved, version=2)
    # A save on the version before writes nothing: neither the flow nor its webhooks.
    other = decided(record.flow, Cancel("verified"), T0 + timedelta(seconds=2))
    stale = [webhook(record.flow.id, 1)]
    assert not await storage.flows.save(record.flow, other, record.meta, webhooks=stale)
    assert (await storage.flows.load(record.flow.id)) == loaded
    assert await storage.outbox.events(record.flow.id) == []
    # The new step's tracking id finds the flow.
    assert await storage.flows.load_by_tracking("msg-1") == loaded


async def test_a_save_adds_its_webhooks_to_the_outbox(storage: Storage) -> None:
    await an_application(storage)
    record = await stored_started(storage)
    moved = accepted(record.flow, T0)
    events = [webhook(record.flow.id, 1), webhook(record.flow.id, 2)]
    assert await storage.flows.save(record.flow, moved, record.meta, webhooks=events)
    stored = await storage.outbox.events(record.flow.id)
    assert [e.event_id for e in stored] == [e.event_id for e in events]
    assert all(e.status == "pending" and e.attempts == 0 for e in stored)
    assert stored[0].seq < stored[1].seq


async def test_a_settled_otp_flow_drops_its_code_and_the_pin_of_its_echo(storage: Storage) -> None:
    await an_application(storage)
    record = await stored_started(storage)
    assert "482913" in str(record.meta.request)
    await storage.codes.put(
        CodeRow(
            record.flow.id,
            "app-1",
            "306912345671",
            "hmac",
            "cipher",
            T0,
            T0 + timedelta(minutes=10),
            0,
            5,
        )
    )
    first = accepted(record.flow, T0)
    assert await storage.flows.save(record.flow, first, record.meta)
    first = replace(first, version=2)
    tracking = first.steps[0].tracking_id
    delivered = decided(first, StatusReported(tracking, StepStatus.DELIVERED), T0)
    assert delivered.status is FlowStatus.SUCCEEDED
    assert await storage.flows.save(first, delivered, record.meta)
    code = await storage.codes.get(record.flow.id)
    assert code is not None
    assert code.code_cipher is None
    loaded = await storage.flows.load(record.flow.id)
    assert loaded is not None
    assert "482913" not in str(loaded.meta.request)


async def test_an_ended_flow_settles_its_spend_reservation(storage: Storage) -> None:
    await an_application(storage)
    record = started(new_flow())
    reservation = Reservation(record.flow.id, "app-1", 1_795_996_800 - 1_795_996_800 % 86_400, 500)
    at = reservation.day + 3600
    now = T0.fromtimestamp(at, T0.tzinfo)
    assert await storage.admissions.take([], reservation, 10_000, now) == (
        None,
        SpendDay(reserved=500, spent=0),
    )
    await storage.flows.create(record.flow, record.meta)
    first = accepted(record.flow, now)
    assert await storage.flows.save(record.flow, first, record.meta)
    first = replace(first, version=2)
    tracking = first.steps[0].tracking_id
    priced = decided(first, StatusReported(tracking, StepStatus.DELIVERED, price=0.02), now)
    assert priced.status.is_terminal
    assert await storage.flows.save(first, priced, record.meta)
    assert await storage.spend.today("app-1", now) == SpendDay(reserved=0, spent=micros(0.02))


async def test_due_deadlines_are_claimed_once_until_their_lease_runs_out(storage: Storage) -> None:
    await an_application(storage)
    ids = set()
    for _ in range(3):
        record = await stored_started(storage)
        moved = accepted(record.flow, T0)
        assert await storage.flows.save(record.flow, moved, record.meta)
        ids.add(record.flow.id)
    queue = storage.deadlines
    assert await queue.pending_count() == 3
    assert await queue.claim_due(now=T0, worker_id="w1", lease_until=T0, limit=10) == []
    first_due = await queue.next_due_at()
    assert first_due is not None
    assert first_due > T0
    later = first_due + timedelta(seconds=1)
    assert await queue.next_claimable_at(later) == first_due
    lease = later + timedelta(seconds=30)
    first = await queue.claim_due(now=later, worker_id="w1", lease_until=lease, limit=2)
    second = await queue.claim_due(now=later, worker_id="w2", lease_until=lease, limit=10)
    assert len(first) == 2
    assert len(second) == 1
    assert {c.flow_id for c in first + second} == ids
    assert all(c.kind == "step_ttl" and c.step_index == 0 for c in first + second)
    assert [c.due_at for c in first] == sorted(c.due_at for c in first)
    # Held by their leases: nobody else gets them, and nothing waits to be claimed.
    assert await queue.claim_due(now=later, worker_id="w3", lease_until=lease, limit=10) == []
    assert await queue.next_claimable_at(later) is None
    # A lease that ran out (its worker died) hands the deadline to the next claim.
    expired = lease + timedelta(seconds=1)
    again = await queue.claim_due(now=expired, worker_id="w3", lease_until=expired, limit=10)
    assert {c.flow_id for c in again} == ids


async def test_a_new_deadline_is_unclaimed_and_an_ended_flow_has_none(storage: Storage) -> None:
    await an_application(storage)
    record = await stored_started(storage)
    queue = storage.deadlines
    due = record.flow.deadline
    assert due is not None
    lease = due.due_at + timedelta(seconds=30)
    [claimed] = await queue.claim_due(now=due.due_at, worker_id="w1", lease_until=lease, limit=5)
    assert claimed.kind == "send_retry"
    moved = accepted(record.flow, T0)
    assert await storage.flows.save(record.flow, moved, record.meta)
    assert moved.deadline is not None
    # The step_ttl deadline replaced the claimed one: claimable by anyone once due.
    [fresh] = await queue.claim_due(
        now=moved.deadline.due_at, worker_id="w2", lease_until=lease, limit=5
    )
    assert fresh.kind == "step_ttl"
    moved = replace(moved, version=2)
    ended = decided(moved, Cancel("verified"), T0)
    assert ended.deadline is None
    assert await storage.flows.save(moved, ended, record.meta)
    assert await queue.pending_count() == 0
    assert await queue.next_due_at() is None


async def test_waiting_steps_are_read_in_deadline_order_from_a_cursor(storage: Storage) -> None:
    await an_application(storage)
    waiting = []
    for n in range(3):
        record = await stored_started(storage, now=T0 + timedelta(seconds=n))
        moved = accepted(record.flow, T0 + timedelta(seconds=n), f"msg-{n}")
        assert await storage.flows.save(record.flow, moved, record.meta)
        waiting.append(record.flow.id)
    # A flow still sending its first step waits on no provider status.
    await stored_started(storage)
    first = await storage.pending.waiting_steps(now=T0, after=None, limit=2)
    assert [w.flow_id for w in first] == waiting[:2]
    assert [w.tracking_id for w in first] == ["msg-0", "msg-1"]
    assert all(w.channel == "viber" and w.status == StepStatus.QUEUED.value for w in first)
    rest = await storage.pending.waiting_steps(now=T0, after=first[-1].cursor, limit=10)
    assert [w.flow_id for w in rest] == waiting[2:]
    # Only deadlines still ahead of ``now``.
    assert (
        await storage.pending.waiting_steps(now=T0 + timedelta(days=1), after=None, limit=9) == []
    )
