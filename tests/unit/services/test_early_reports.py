"""A delivery report that outruns the save of the send it reports on is retried in the
background (failover_otp.retrying) until the send is saved, and dropped after its last try."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from tests.support.security_stack import RecordingProvider, memory_stack, otp_body
from tests.support.waiting import wait_until_async

from failover_otp.domain.records import FlowRecord
from failover_otp.domain.statuses import StepStatus
from failover_otp.providers.base import DeliveryReport, SendReceipt, SendRequest
from failover_otp.retrying import Backoff
from failover_otp.services import flows as flows_module

pytestmark = pytest.mark.asyncio


@dataclass
class ReportsBeforeAnswering(RecordingProvider):
    """Reports each message delivered before its send even returns: the report finds no saved
    step with that message id."""

    async def send(self, request: SendRequest) -> SendReceipt:
        self.sent.append(request)
        message_id = str(uuid.uuid4())
        assert self.sink is not None
        await self.sink(DeliveryReport(message_id, StepStatus.DELIVERED))
        return SendReceipt(message_id=message_id, price=0.01)


async def test_a_report_that_outran_its_send_is_applied_once_the_send_is_saved() -> None:
    async with memory_stack(provider=ReportsBeforeAnswering()) as stack:
        record, _ = await stack.send_otp(otp_body("+306912345671"))
        assert record.flow.steps[0].status is StepStatus.QUEUED

        async def delivered() -> bool:
            stored = await stack.storage.flows.load(record.flow.id)
            return stored is not None and stored.flow.steps[0].status is StepStatus.DELIVERED

        await wait_until_async(delivered, what="the early report applied")


async def test_a_report_for_a_message_nobody_sent_is_tried_five_times_then_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    quick = Backoff(attempts=5, wait_initial=0.01, wait_max=0.02, wait_jitter=0.0)
    monkeypatch.setattr(flows_module, "_UNMATCHED_REPORT_BACKOFF", quick)
    async with memory_stack() as stack:
        looked_up: list[str] = []
        load_by_tracking = stack.flows.store.load_by_tracking

        async def counting(tracking_id: str) -> FlowRecord | None:
            looked_up.append(tracking_id)
            return await load_by_tracking(tracking_id)

        monkeypatch.setattr(stack.flows.store, "load_by_tracking", counting)
        await stack.report("no-such-message", StepStatus.DELIVERED)
        await wait_until_async(
            lambda: not stack.flows._background, what="the background retries to end"
        )
        assert looked_up == ["no-such-message"] * 5
