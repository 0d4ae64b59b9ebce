"""The delivery history is written behind the flow: a burst of changes is one write per batch,
nothing is lost at shutdown, and a failing write never fails a flow."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError
from tests.support.security_stack import FakeClock

from failover_otp.domain.delivery_model import Observation
from failover_otp.domain.flow import Flow, FlowKind, Role, Step
from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.services.delivery_history import DeliveryHistory

pytestmark = pytest.mark.asyncio

T0 = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)


def sent_flow(n: int) -> Flow:
    step = Step(
        index=0,
        tracking_id=f"t-{n}",
        role=Role.PRIMARY,
        channel=Channel.VIBER,
        to="306912345678",
        status=StepStatus.QUEUED,
        created_at=T0,
        updated_at=T0,
        sent_at=T0,
    )
    return Flow(
        id=f"f-{n}",
        application_id="app",
        kind=FlowKind.OTP,
        plans=(),
        created_at=T0,
        updated_at=T0,
        steps=(step,),
    )


def delivered(flow: Flow) -> Flow:
    at = T0 + timedelta(seconds=2)
    step = replace(flow.steps[0], status=StepStatus.DELIVERED, delivered_at=at, updated_at=at)
    return replace(flow, steps=(step,), updated_at=at)


class SlowDeliveries:
    """Records each write's batch; a write waits until ``opened`` is set."""

    def __init__(self, *, fail: bool = False) -> None:
        self.batches: list[list[Observation]] = []
        self.opened = asyncio.Event()
        self.fail = fail

    async def record(self, observations: list[Observation]) -> None:
        self.batches.append(list(observations))
        await self.opened.wait()
        if self.fail:
            raise OperationalError("INSERT", {}, Exception("the database is gone"))

    async def counts(self, since: datetime) -> list[object]:
        return []


async def test_changes_made_while_a_write_runs_share_the_next_write() -> None:
    store = SlowDeliveries()
    history = DeliveryHistory(store, FakeClock(T0))  # type: ignore[arg-type]
    flows = [sent_flow(n) for n in range(50)]
    for flow in flows:
        await history.record_change(flow, delivered(flow), 1.0)  # returns before any write
    await asyncio.sleep(0)  # the writer takes the first change
    store.opened.set()
    await history.flush()
    assert sum(len(b) for b in store.batches) == 50
    assert len(store.batches) <= 2


async def test_what_is_pending_is_written_at_flush() -> None:
    store = SlowDeliveries()
    store.opened.set()
    history = DeliveryHistory(store, FakeClock(T0))  # type: ignore[arg-type]
    flow = sent_flow(1)
    await history.record_change(flow, delivered(flow), 1.0)
    await history.flush()
    assert [len(b) for b in store.batches] == [1]
    await history.flush()  # nothing more to write
    assert [len(b) for b in store.batches] == [1]


async def test_a_failing_write_fails_no_flow() -> None:
    store = SlowDeliveries(fail=True)
    store.opened.set()
    history = DeliveryHistory(store, FakeClock(T0))  # type: ignore[arg-type]
    flow = sent_flow(1)
    await history.record_change(flow, delivered(flow), 1.0)
    await history.flush()
    assert len(store.batches) == 1
