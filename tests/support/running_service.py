"""The whole service in-process (``open_services`` and its worker loops) for integration tests:
start OTP flows as the API does after validation, and wait for them to end."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from failover_otp.bootstrap import Services, open_services
from failover_otp.domain.records import FlowRecord
from failover_otp.domain.statuses import StepStatus
from failover_otp.settings import Settings
from failover_otp.web.otp_requests import otp_ask
from failover_otp.web.otp_schemas import SendFailoverRequest
from tests.support.waiting import wait_until_async


async def start_otp(services: Services, body: dict[str, Any]) -> FlowRecord:
    """What ``POST /otp/send-failover`` does after validation."""
    ask = otp_ask(SendFailoverRequest.model_validate(body))
    sent = await services.sending.send_otp("app-1", ask, flow_id=str(uuid.uuid4()))
    return sent.record


@asynccontextmanager
async def running_service(settings: Settings) -> AsyncIterator[Services]:
    async with open_services(settings) as services:
        stop = asyncio.Event()
        loops = [asyncio.create_task(loop.run(stop)) for loop in services.worker_loops()]
        try:
            yield services
        finally:
            stop.set()
            await asyncio.gather(*loops)


async def wait_ended(services: Services, flow_id: str, timeout: float) -> FlowRecord:
    """The flow once it has ended and every step reached a final status (not Sent)."""

    async def ended() -> FlowRecord | None:
        record = await services.flow_store.load(flow_id)
        assert record is not None
        if record.flow.status.is_terminal and all(
            s.status.rank >= StepStatus.DELIVERED.rank for s in record.flow.steps
        ):
            return record
        return None

    record: FlowRecord | None = await wait_until_async(ended, timeout, what=f"flow {flow_id}")
    assert record is not None
    return record
