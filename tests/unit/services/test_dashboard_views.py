"""What the dashboard shows of code checks (issue 17, item 5), on the in-memory storage: a wrong
code then the right one appear on the flow's timeline, and the verified flow counts in the
conversion (kept on the flow: the code's own row is purged a day after it expires)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.support.security_stack import memory_stack, otp_body

from failover_otp.services.codes import VerifyStatus
from failover_otp.services.dashboard import DashboardService

pytestmark = pytest.mark.asyncio


async def test_a_wrong_code_then_the_right_one_on_the_timeline_and_in_conversion() -> None:
    async with memory_stack() as stack:
        record, code = await stack.send_otp(otp_body(pin=None))
        assert code is not None
        flow_id = record.flow.id
        stack.clock.advance(5)
        wrong = "0" * len(code) if code != "0" * len(code) else "1" * len(code)
        assert (await stack.security.codes.verify("app-1", flow_id, wrong)).status is (
            VerifyStatus.WRONG_CODE
        )
        stack.clock.advance(5)
        assert (await stack.security.codes.verify("app-1", flow_id, code)).valid

        storage = stack.storage
        dashboard = DashboardService(
            storage.stats,
            storage.apps,
            stack.flows,
            stack.clock,
            storage.listings,
            refusals=storage.refusals,
        )
        view = await dashboard.flow("app-1", flow_id)
        assert view is not None
        titles = [e.title for e in view.events]
        assert titles.index("Viber sent") < titles.index("1 wrong code entered")
        assert titles.index("1 wrong code entered") < titles.index("Code verified")
        verified = next(e for e in view.events if e.title == "Code verified")
        assert verified.at == stack.clock.now()

        stats = await dashboard.stats("app-1", 1)
        assert stats["conversion"]["flows"] == 1
        assert stats["conversion"]["verified"] == 1
        [viber] = stats["conversion"]["byChannel"]
        assert (viber["channel"], viber["conversionRate"]) == ("viber", 1.0)

        # The code's row goes a day after it expires; the flow keeps that it was verified.
        assert await storage.codes.purge(stack.clock.now() + timedelta(days=3)) == 1
        again = await dashboard.flow("app-1", flow_id)
        assert again is not None
        assert "Code verified" in [e.title for e in again.events]
        assert (await dashboard.stats("app-1", 1))["conversion"]["verified"] == 1
