"""Flows under every report order the sandbox can push: SMS ``Sent`` before its verdict, the
verdict first and ``Sent`` after it, every report twice, or all of them after the ttl.

The whole service runs in-process on the embedded sandbox (time scale 60); the order is asked
for by a marker in the SMS body (``providers/sandbox/outcomes.py``). Whatever the order, a flow
ends as the seed's rules say: Sent then Undelivered on the last step is a failed flow.
"""

from __future__ import annotations

import pytest
from tests.support.payloads import viber_sms_flow
from tests.support.running_service import running_service, start_otp, wait_ended
from tests.support.waiting import wait_until_async

from failover_otp.domain.statuses import FlowStatus, StatusCode, StepStatus
from failover_otp.providers.sandbox.embedded import EmbeddedSandboxProvider
from failover_otp.settings import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

ORDERS = ["", "[sandbox:reversed]", "[sandbox:duplicated]", "[sandbox:late]"]
# digit: (flow status, statusCode, step statuses) once every report is in.
ENDINGS = {
    2: (FlowStatus.SUCCEEDED, None, [StepStatus.UNDELIVERED, StepStatus.DELIVERED]),
    3: (FlowStatus.FAILED, StatusCode.NO_NEXT_STEP, [StepStatus.FAILED, StepStatus.UNDELIVERED]),
}


@pytest.mark.parametrize("marker", ORDERS)
async def test_flows_end_by_the_seeds_rules_in_every_report_order(
    database_url: str, marker: str
) -> None:
    settings = Settings(
        database_url=database_url, time_scale=60, rate_limit_enabled=False, spend_cap_per_day=0
    )
    async with running_service(settings) as services:
        flows = {}
        for digit in ENDINGS:
            body = viber_sms_flow(digit, sms_ttl=60)
            body["flow"][1]["message"]["body"] += f" {marker}"
            flows[digit] = (await start_otp(services, body)).flow.id
        for flow_id in flows.values():
            await wait_ended(services, flow_id, timeout=30)
        provider = services.provider
        assert isinstance(provider, EmbeddedSandboxProvider)
        # Late reports come after the flow ended: let them all in.
        await wait_until_async(
            lambda: provider.sim.pushes_pending == 0, what="every report pushed", interval=0.01
        )
        for digit, (status, code, steps) in ENDINGS.items():
            record = await services.flow_store.load(flows[digit])
            assert record is not None
            assert (record.flow.status, record.flow.status_code) == (status, code), digit
            assert [s.status for s in record.flow.steps] == steps, digit
