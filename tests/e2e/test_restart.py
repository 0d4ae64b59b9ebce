"""Nothing is lost on restart: flows pending when the process dies finish when it is back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.flows import wait_until_ended
from tests.support.payloads import viber_sms_flow
from tests.support.server import ApiSession, ServerProcess, create_application, serve_args

VIBER_TTL_REAL_SECONDS = 120 / 60  # the payload's Viber ttl at the servers' time scale


def test_pending_failovers_survive_a_kill(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/restart.db"
    app_id, secret = create_application(database_url)
    first = ServerProcess(args=[], workdir=tmp_path)
    first.args = serve_args(first.port, database_url)
    first.start()
    try:
        api = ApiSession(first.url, app_id, secret)
        # Digit 1: Viber never reports; the failover waits for the ttl (120 s = 2 s here).
        flow_ids = [
            api.post("/otp/send-failover", viber_sms_flow(1, label=f"restart-{n}")).json()["flowId"]
            for n in range(20)
        ]
        last_due = time.monotonic() + VIBER_TTL_REAL_SECONDS
        api.close()
    finally:
        first.kill()  # SIGKILL: no clean shutdown, deadlines stay pending in the database

    # Deliberate: the point is deadlines that fell due while no process ran, so time must pass
    # with nothing running; only what is left until the last one is due (plus a margin).
    time.sleep(max(0.0, last_due + 0.5 - time.monotonic()))
    second = ServerProcess(args=[], workdir=tmp_path)
    second.args = serve_args(second.port, database_url)
    second.start()
    try:
        api = ApiSession(second.url, app_id, secret)
        for flow_id in flow_ids:
            story = wait_until_ended(api, flow_id, step_statuses=["EXPIRED", "delivered"])
            assert story["status"] == "Succeeded"
            assert story["total_cost"] == pytest.approx(0.0468)
        api.close()
    finally:
        second.stop()
