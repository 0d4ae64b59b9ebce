"""Routee's delivery reports never arrive (``failover-otp sandbox --no-callbacks``): every digit
story still ends as it should, moved by the pending-message poller.

Real processes: the wire sandbox and ``serve --provider routee`` (time scale 60, SQLite). The
flows are watched through the list endpoint, which does not ask the provider (reading a flow by
id would look its pending steps up and hide whether the poller did); every Viber step lives an
hour (a real minute), so a flow that ends within seconds was not ended by its deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.test_otp_sandbox_digits import EXPECTED
from tests.support.payloads import viber_sms_flow
from tests.support.server import (
    ApiSession,
    ServerProcess,
    create_application,
    routee_env,
    serve_args,
)
from tests.support.waiting import wait_until

HOUR = 3600


@pytest.fixture(scope="module")
def silent_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("no-callbacks")
    proc = ServerProcess(args=[], workdir=workdir, health_path="/_sandbox/sends")
    proc.args = ["sandbox", "--port", str(proc.port), "--time-scale", "60", "--no-callbacks"]
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def api(silent_sandbox: ServerProcess) -> Iterator[ApiSession]:
    database_url = f"sqlite:///{silent_sandbox.workdir}/e2e.db"
    server = ServerProcess(args=[], workdir=silent_sandbox.workdir)
    server.env = {"FOTP_DATABASE_URL": database_url}
    server.env.update(routee_env(silent_sandbox.url, server.url))
    server.args = serve_args(server.port, database_url, "--provider", "routee")
    server.start()
    session = ApiSession(server.url, *create_application(database_url))
    yield session
    session.close()
    server.stop()


def _listed_statuses(api: ApiSession, flow_id: str) -> list[str]:
    results = api.get("/otp/failover", flow_id=flow_id).json()["results"]
    primary_first = sorted(results, key=lambda r: r["role"] != "primary")
    return [r["status"].upper() for r in primary_first]


def _wait_for_listed(api: ApiSession, digit: int, flow_id: str, steps: list[str]) -> None:
    wait_until(
        lambda: _listed_statuses(api, flow_id) == steps,
        what=lambda: f"digit {digit}: {_listed_statuses(api, flow_id)} to become {steps}",
        interval=0.1,
    )


def test_every_digit_ends_as_it_should_without_callbacks(
    api: ApiSession, silent_sandbox: ServerProcess
) -> None:
    started = time.monotonic()
    flows = {}
    for digit in EXPECTED:
        ttl = 120 if digit in (1, 5) else HOUR  # 1 and 5 expire on Viber: their deadline decides
        sent = api.post("/otp/send-failover", viber_sms_flow(digit, viber_ttl=ttl, sms_ttl=HOUR))
        assert sent.status_code == 200, sent.text
        flows[digit] = sent.json()["flowId"]
    for digit, flow_id in flows.items():
        _wait_for_listed(api, digit, flow_id, [s.upper() for s in EXPECTED[digit][3]])
    assert time.monotonic() - started < HOUR / 60 / 2  # no hour-long ttl ended any of them
    for digit, flow_id in flows.items():
        _, status, code, _, _ = EXPECTED[digit]
        story = api.get(f"/otp/failover/{flow_id}").json()
        assert (story["status"], story["statusCode"]) == (status, code), digit
    counts = httpx.get(f"{silent_sandbox.url}/_sandbox/sends").json()
    assert counts["callbacks_enabled"] is False
    assert counts["callbacks"] == {}
