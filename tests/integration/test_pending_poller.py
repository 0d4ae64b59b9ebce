"""The pending-message poller: flows progress without any delivery report, at a bounded rate.

The digit stories run the whole service (``open_services``, its worker loops) with the real
Routee provider against the wire sandbox with its callbacks switched off: every status has to be
looked up. Each Viber step lives an hour (a minute at time scale 60), so a flow that ends within
seconds was moved by the poller, not by its ttl deadline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest
from tests.support.payloads import viber_sms_flow
from tests.support.running_service import running_service, start_otp, wait_ended
from tests.support.security_stack import RecordingProvider, otp_body, security_stack
from tests.support.wire_sandbox import StartSandbox

from failover_otp.domain.statuses import Channel, FlowStatus, StatusCode, StepStatus
from failover_otp.providers.base import DeliveryReport
from failover_otp.services.flows import FlowService
from failover_otp.settings import Settings
from failover_otp.store.pending_store import PendingStore
from failover_otp.worker.pending_poller import PendingPoller

pytestmark = pytest.mark.asyncio(loop_scope="session")

pytest_plugins = ["tests.support.wire_sandbox"]

V, S = StepStatus, StepStatus
# digit: (flow status, statusCode, step statuses) as the contract's table and the seed's rules
# make them (tests/e2e/test_otp_sandbox_digits.py).
STORIES: dict[int, tuple[FlowStatus, StatusCode | None, list[StepStatus]]] = {
    0: (FlowStatus.SUCCEEDED, None, [V.SEEN]),
    1: (FlowStatus.SUCCEEDED, None, [V.EXPIRED, S.DELIVERED]),
    2: (FlowStatus.SUCCEEDED, None, [V.UNDELIVERED, S.DELIVERED]),
    3: (FlowStatus.FAILED, StatusCode.NO_NEXT_STEP, [V.FAILED, S.UNDELIVERED]),
    4: (FlowStatus.SUCCEEDED, None, [V.DELIVERED]),
    5: (FlowStatus.FAILED, StatusCode.NO_NEXT_STEP, [V.EXPIRED, S.FAILED]),
    6: (FlowStatus.SUCCEEDED, None, [V.DELIVERED]),
    7: (FlowStatus.SUCCEEDED, None, [V.DELIVERED]),
    8: (FlowStatus.FAILED, StatusCode.INSUFFICIENT_BALANCE, [V.UNDELIVERED, S.UNSENT]),
    9: (FlowStatus.SUCCEEDED, None, [V.FAILED, S.DELIVERED]),
}
TIME_SCALE = 60
LONG_TTL = 3600  # a minute of real time
EXPIRING_TTL = 120  # digits 1 and 5 expire on Viber: their deadline decides, 2 s of real time


async def test_every_digit_story_ends_without_callbacks(
    database_url: str, start_sandbox: StartSandbox
) -> None:
    sandbox = await start_sandbox(callbacks=False)
    settings = Settings(
        database_url=database_url,
        provider="routee",
        routee_base_url=sandbox.url,
        routee_auth_url=f"{sandbox.url}/oauth/token",
        routee_app_id="app",
        routee_app_secret="secret",
        # Callbacks are asked for (a public URL is set), but the sandbox never posts them.
        public_url="http://127.0.0.1:9",
        time_scale=TIME_SCALE,
        pending_poll_interval_seconds=15,  # 0.25 s of real time
        rate_limit_enabled=False,
        spend_cap_per_day=0,
    )
    async with running_service(settings) as services:
        started = time.monotonic()
        flows = {}
        for digit in STORIES:
            ttl = EXPIRING_TTL if digit in (1, 5) else LONG_TTL
            body = viber_sms_flow(digit, viber_ttl=ttl, sms_ttl=LONG_TTL)
            flows[digit] = (await start_otp(services, body)).flow.id
        ended = {d: await wait_ended(services, f, timeout=30) for d, f in flows.items()}
        elapsed = time.monotonic() - started
    for digit, (status, code, steps) in STORIES.items():
        flow = ended[digit].flow
        assert (flow.status, flow.status_code) == (status, code), digit
        assert [s.status for s in flow.steps] == steps, digit
    # Long before any hour-long (one real minute) ttl could have ended a flow.
    assert elapsed < LONG_TTL / TIME_SCALE / 2
    counts = await sandbox.sends()
    assert counts["callbacks"] == {}
    assert counts["requests"]["GET /viber/tracking/{id}"] >= 1


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


async def test_look_ups_are_bounded_and_spread_over_every_waiting_step(
    database_url: str,
) -> None:
    """30 waiting steps, 20 look-ups a second, one tick a second: the first tick only notes
    them; one interval later a tick looks up 20, the next the other 10, then none until the
    next interval; nobody is skipped and nobody is asked twice within an interval."""
    async with security_stack(database_url, rate_limit_enabled=False) as stack:
        ids = []
        for i in range(30):
            record, _ = await stack.send_otp(otp_body(f"+3069123400{i:02d}"))
            ids.append(record.flow.steps[0].tracking_id)
        provider = LookupCounter()
        monotonic = ManualClock()
        poller = PendingPoller(
            PendingStore(stack.db),
            # The poller asks through the flow service: one whose provider counts the look-ups.
            FlowService(stack.flow_store, provider, stack.clock),
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
        delivered = [await stack.flow_store.load_by_tracking(i) for i in ids]
        assert all(r is not None and r.flow.status is FlowStatus.SUCCEEDED for r in delivered)
        # Ended flows wait on nothing: nothing is left to look up.
        monotonic.now += 10
        assert await poller.poll_once() == 0
        assert (
            await PendingStore(stack.db).waiting_steps(now=stack.clock.now(), after=None, limit=100)
            == []
        )


async def test_a_small_budget_walks_every_step_a_page_at_a_time(database_url: str) -> None:
    """Two look-ups a second: pages of 20 rows, two look-ups a tick, and after 15 ticks each
    of the 30 waiting steps was asked exactly once."""
    async with security_stack(database_url, rate_limit_enabled=False) as stack:
        ids = []
        for i in range(30):
            record, _ = await stack.send_otp(otp_body(f"+3069123400{i:02d}"))
            ids.append(record.flow.steps[0].tracking_id)
        provider = LookupCounter()
        monotonic = ManualClock()
        poller = PendingPoller(
            PendingStore(stack.db),
            # The poller asks through the flow service: one whose provider counts the look-ups.
            FlowService(stack.flow_store, provider, stack.clock),
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
