"""Issue 16 through the service and a real database (SQLite and PostgreSQL): a success withdrawn
after an SMS `Sent` is saved, keeps the code it still needs, and settles only at the end."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.security_stack import ServiceStack, memory_stack, otp_body

from failover_otp.domain.statuses import FlowStatus, StatusCode, StepStatus

pytestmark = pytest.mark.asyncio


def _sms_first(number: str) -> dict[str, Any]:
    """An OTP flow whose SMS goes first and whose ViberOtp step is the failover."""
    body = otp_body(number)
    viber, sms = body["flow"]
    viber["order"], sms["order"] = 2, 1
    return body


async def _code_cipher(stack: ServiceStack, flow_id: str) -> str | None:
    row = await stack.security.codes.store.get(flow_id)
    assert row is not None
    return row.code_cipher


async def test_sms_sent_then_undelivered_fails_the_flow_and_scrubs_its_code_then() -> None:
    async with memory_stack() as stack:
        record, code = await stack.send_otp(otp_body("+306912345671"))
        flow_id = record.flow.id
        await stack.report(record.flow.steps[0].tracking_id, StepStatus.FAILED)
        failed_over = await stack.storage.flows.load(flow_id)
        assert failed_over is not None
        sms = failed_over.flow.steps[1]

        await stack.report(sms.tracking_id, StepStatus.SENT)
        sent = await stack.storage.flows.load(flow_id)
        assert sent is not None
        assert sent.flow.status is FlowStatus.SUCCEEDED
        assert sent.flow.deadline is not None  # still watched until the final report or ttl
        assert await _code_cipher(stack, flow_id) is not None  # not settled yet

        await stack.report(sms.tracking_id, StepStatus.UNDELIVERED)
        failed = await stack.storage.flows.load(flow_id)
        assert failed is not None
        assert (failed.flow.status, failed.flow.status_code) == (
            FlowStatus.FAILED,
            StatusCode.NO_NEXT_STEP,
        )
        assert failed.flow.deadline is None
        assert await _code_cipher(stack, flow_id) is None
        assert code is not None
        assert code not in str(failed.meta.request)


async def test_sms_sent_then_undelivered_still_sends_the_code_by_viber() -> None:
    async with memory_stack() as stack:
        record, code = await stack.send_otp(_sms_first("+306912345672"))
        flow_id = record.flow.id
        sms = record.flow.steps[0]
        await stack.report(sms.tracking_id, StepStatus.SENT)
        await stack.report(sms.tracking_id, StepStatus.UNDELIVERED)

        stored = await stack.storage.flows.load(flow_id)
        assert stored is not None
        assert stored.flow.status is FlowStatus.IN_PROGRESS
        assert [s.status for s in stored.flow.steps] == [StepStatus.UNDELIVERED, StepStatus.QUEUED]
        viber_send = stack.sent_to(flow_id)[-1]
        assert viber_send.step_index == 1
        assert code is not None
        assert code in str(viber_send.content)  # the code was kept for it
