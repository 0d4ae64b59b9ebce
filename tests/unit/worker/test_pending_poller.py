"""The pending-message poller on the in-memory storage: look-ups bounded per second and spread
over every waiting step (the whole service against the wire sandbox without callbacks:
tests/integration/test_pending_poller.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from tests.support.security_stack import RecordingProvider, memory_stack, otp_body

from failover_otp.domain.statuses import Channel, FlowStatus, StepStatus
from failover_otp.providers.base import DeliveryReport
from failover_otp.services.flows import FlowService
from failover_otp.worker.pending_poller import PendingPoller

pytestmark = pytest.mark.asyncio


@dataclass
class LookupCounter(RecordingProvider):
    lookups: list[str] = field(default_factory=list)
    answer: StepStatus | None = None

    async def lookup(self, channel: Channel, message_id: str) -> DeliveryReport | None:
        self.lookups.append(message_id)
        return DeliveryReport(message_id, self.answer) if self.answer else None


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_look_ups_are_bounded_and_spread_over_every_waiting_step() -> None:
    """30 waiting steps, 20 look-ups a second, one tick a second: the first tick only notes
    them; one interval later a tick looks up 20, the next the other 10, then none until the
    next interval; nobody is skipped and nobody is asked twice within an interval."""
    async with memory_stack(rate_limit_enabled=False) as stack:
        ids = []
        for i in range(30):
            record, _ = await stack.send_otp(otp_body(f"+3069123400{i:02d}"))
            ids.append(record.flow.steps[0].tracking_id)
        provider = LookupCounter()
        monotonic = ManualClock()
        poller = PendingPoller(
            stack.storage.pending,
            # The poller asks through the flow service: one whose provider counts the look-ups.
            FlowService(stack.storage.flows, provider, stack.clock),
            stack.clock,
            interval_seconds=10,
            max_per_second=20,
            monotonic=monotonic,
        )
        assert (poller.tick, poller.per_tick) == (1.0, 20)
        assert await poller.poll_once() == 0  # first seen
        monotonic.now += 10
        assert await poller.poll_once() == 20
        assert await poller.poll_once() == 10
        assert sorted(provider.lookups) == sorted(ids)
        assert await poller.poll_once() == 0  # each was asked within the interval
        monotonic.now += 10
        assert await poller.poll_once() == 20

        # What a look-up learns goes through the engine like a pushed report.
        provider.answer = StepStatus.DELIVERED
        monotonic.now += 10
        await poller.poll_once()
        await poller.poll_once()
        delivered = [await stack.storage.flows.load_by_tracking(i) for i in ids]
        assert all(r is not None and r.flow.status is FlowStatus.SUCCEEDED for r in delivered)
        # Ended flows wait on nothing: nothing is left to look up.
        monotonic.now += 10
        assert await poller.poll_once() == 0
        assert (
            await stack.storage.pending.waiting_steps(now=stack.clock.now(), after=None, limit=100)
            == []
        )


async def test_a_small_budget_walks_every_step_a_page_at_a_time() -> None:
    """Two look-ups a second: pages of 20 rows, two look-ups a tick, and after 15 ticks each
    of the 30 waiting steps was asked exactly once."""
    async with memory_stack(rate_limit_enabled=False) as stack:
        ids = []
        for i in range(30):
            record, _ = await stack.send_otp(otp_body(f"+3069123400{i:02d}"))
            ids.append(record.flow.steps[0].tracking_id)
        provider = LookupCounter()
        monotonic = ManualClock()
        poller = PendingPoller(
            stack.storage.pending,
            # The poller asks through the flow service: one whose provider counts the look-ups.
            FlowService(stack.storage.flows, provider, stack.clock),
            stack.clock,
            interval_seconds=100,
            max_per_second=2,
            monotonic=monotonic,
        )
        assert (poller.per_tick, poller.page) == (2, 20)
        assert [await poller.poll_once() for _ in range(2)] == [0, 0]  # all seen, none due
        monotonic.now += 100
        assert [await poller.poll_once() for _ in range(15)] == [2] * 15
        assert sorted(provider.lookups) == sorted(ids)
