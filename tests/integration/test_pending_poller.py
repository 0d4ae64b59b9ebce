"""The pending-message poller: flows progress without any delivery report, at a bounded rate.

The digit stories run the whole service (``open_services``, its worker loops) with the real
Routee provider against the wire sandbox with its callbacks switched off: every status has to be
looked up. Each Viber step lives an hour (a minute at time scale 60), so a flow that ends within
seconds was moved by the poller, not by its ttl deadline (its look-up bounds run on the in-memory
storage: tests/unit/worker/test_pending_poller.py).
"""

from __future__ import annotations

import time

import pytest
from tests.support.payloads import viber_sms_flow
from tests.support.running_service import running_service, start_otp, wait_ended
from tests.support.wire_sandbox import StartSandbox

from failover_otp.domain.statuses import FlowStatus, StatusCode, StepStatus
from failover_otp.settings import Settings

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
