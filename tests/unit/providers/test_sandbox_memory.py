"""The sandbox forgets a finished message a while after its last report (a long run stays flat)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from failover_otp.domain.statuses import Channel
from failover_otp.providers.sandbox import routee_sim
from failover_otp.providers.sandbox.routee_sim import RouteeSim


def test_finished_messages_are_forgotten_after_the_retention(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1_000.0]
    monkeypatch.setattr(routee_sim, "time", SimpleNamespace(monotonic=lambda: clock[0]))

    async def run() -> None:
        sim = RouteeSim()

        def send(n: int) -> str:
            message = sim.accept(
                channel=Channel.SMS,
                to=f"+30691234567{n}",
                body="code 1234",
                ttl_seconds=60,
                attempt_key=f"flow-{n}:0",
            )
            return message.message_id

        first = send(0)  # delivered (its last report) within seconds
        clock[0] += sim.retention_seconds - 1
        second = send(1)  # nothing is reported: finished at its ttl
        assert sim.find(first) is not None
        clock[0] += 30
        send(3)
        assert sim.find(first) is None
        assert sim.find(second) is not None
        assert "flow-0:0" not in sim.accepted
        assert sim.accepted_total == 3
        await sim.aclose()

    asyncio.run(run())
