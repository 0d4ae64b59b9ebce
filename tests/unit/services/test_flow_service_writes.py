"""How FlowService writes: a new flow stored already started, events decided on the flow as this
process last saved it (a newer save elsewhere is detected), and reads that do not ask the
provider about the same message over and over."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from tests.support.security_stack import RecordingProvider, memory_stack, otp_body

from failover_otp.domain.events import SendAccepted, StatusReported
from failover_otp.domain.statuses import Channel, FlowStatus, StepStatus
from failover_otp.providers.base import DeliveryReport
from failover_otp.services import flows as flows_module

pytestmark = pytest.mark.asyncio


async def test_a_new_flow_is_stored_started_with_the_version_it_returns() -> None:
    async with memory_stack() as stack:
        record, _ = await stack.send_otp(otp_body("+306912345671"))
        stored = await stack.storage.flows.load(record.flow.id)
        assert stored is not None
        # Stored started (version 1) then saved with the Viber acceptance (version 2): the
        # record handed back carries the version the database holds, so the next event needs
        # no read to be saved.
        assert stored.flow == record.flow
        assert stored.flow.version == 2
        assert [s.status for s in stored.flow.steps] == [StepStatus.QUEUED]
        assert stored.flow.deadline is not None


async def test_an_event_on_a_stale_flow_is_decided_again_on_the_stored_one() -> None:
    async with memory_stack() as stack:
        stale, _ = await stack.send_otp(otp_body("+306912345671"))
        viber = stale.flow.steps[0]
        assert viber.tracking_id is not None
        # Someone else saves the flow first: the Viber message was delivered.
        await stack.report(viber.tracking_id, StepStatus.DELIVERED)
        # An event decided on the flow as it was before that save must not undo it.
        seen = StatusReported(tracking_id=viber.tracking_id, status=StepStatus.SEEN)
        after = await stack.flows.apply(stale.flow.id, seen, current=stale)
        assert after is not None
        stored = await stack.storage.flows.load(stale.flow.id)
        assert stored is not None
        assert stored.flow == after.flow
        assert stored.flow.version == stale.flow.version + 2
        assert stored.flow.steps[0].status is StepStatus.SEEN
        assert stored.flow.status is FlowStatus.SUCCEEDED


async def test_a_replayed_acceptance_on_a_stale_flow_changes_nothing() -> None:
    async with memory_stack() as stack:
        stale, _ = await stack.send_otp(otp_body("+306912345671"))
        viber = stale.flow.steps[0]
        assert viber.tracking_id is not None
        await stack.report(viber.tracking_id, StepStatus.DELIVERED)
        again = SendAccepted(index=0, message_id=viber.tracking_id, price=viber.price)
        await stack.flows.apply(stale.flow.id, again, current=stale)
        stored = await stack.storage.flows.load(stale.flow.id)
        assert stored is not None
        assert stored.flow.steps[0].status is StepStatus.DELIVERED


@dataclass
class CountingProvider(RecordingProvider):
    lookups: list[str] = field(default_factory=list)

    async def lookup(self, channel: Channel, message_id: str) -> DeliveryReport | None:
        self.lookups.append(message_id)
        return None


async def test_reads_ask_the_provider_at_most_once_a_second_per_message_then_less_often(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = CountingProvider()
    async with memory_stack(provider=provider) as stack:
        record, _ = await stack.send_otp(otp_body("+306912345671"))
        moment = [1_000.0]
        monkeypatch.setattr(flows_module, "monotonic", lambda: moment[0])
        for _ in range(5):
            assert await stack.flows.read("app-1", record.flow.id) is not None
        assert len(provider.lookups) == 1
        moment[0] += 1.0
        await stack.flows.read("app-1", record.flow.id)
        assert len(provider.lookups) == 2
        # Then the wait doubles with each look-up (2 s, 4 s, ...), up to 30 s.
        moment[0] += 1.0
        await stack.flows.read("app-1", record.flow.id)
        assert len(provider.lookups) == 2
        moment[0] += 1.0
        await stack.flows.read("app-1", record.flow.id)
        assert len(provider.lookups) == 3
        moment[0] += 3.0
        await stack.flows.read("app-1", record.flow.id)
        assert len(provider.lookups) == 3
        moment[0] += 1.0
        await stack.flows.read("app-1", record.flow.id)
        assert len(provider.lookups) == 4
