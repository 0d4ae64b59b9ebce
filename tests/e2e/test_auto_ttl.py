"""``"ttl": "auto"`` against a real server: the upper bound before any history, a shorter,
learned deadline once the history says Viber delivers within seconds (digit 4: DELIVERED after
1 s; digit 2: UNDELIVERED, never delivered, which keeps the curve trusted up to the bound)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from failover_otp.domain.delivery_model import MIN_SAMPLES
from tests.e2e.flows import wait_until_ended
from tests.support.payloads import viber_sms_flow
from tests.support.server import ApiSession, ServerProcess, routee_env, serve_args
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def server(
    e2e_dir: Path, e2e_database_url: str, routee_sandbox: ServerProcess | None
) -> Iterator[ServerProcess]:
    proc = ServerProcess(args=[], workdir=e2e_dir)
    proc.env = {
        "FOTP_DATABASE_URL": e2e_database_url,
        # Every send reads the model afresh, so the test needs no wait for a cache to expire.
        "FOTP_DELIVERY_MODEL_CACHE_SECONDS": "0",
        # A hundred flows to numbers of one prefix are this test's history, not abuse.
        "FOTP_RATE_LIMIT_ENABLED": "false",
    }
    extra: list[str] = []
    if routee_sandbox is not None:
        extra = ["--provider", "routee"]
        proc.env.update(routee_env(routee_sandbox.url, proc.url))
    proc.args = serve_args(proc.port, e2e_database_url, *extra)
    proc.start()
    yield proc
    proc.stop()


def auto_flow(digit: int, serial: int) -> dict[str, Any]:
    body = viber_sms_flow(digit, prefix=f"3069123{serial:04d}")
    body["flow"][0]["ttl"] = "auto"
    return body


def run_flow(
    api: ApiSession, body: dict[str, Any], step_statuses: list[str] | None = None
) -> dict[str, Any]:
    answer = api.post("/otp/send-failover", body)
    assert answer.status_code == 200, answer.text
    return wait_until_ended(api, answer.json()["flowId"], timeout=60, step_statuses=step_statuses)


def test_auto_uses_the_upper_bound_then_learns_a_shorter_deadline(api: ApiSession) -> None:
    first = run_flow(api, auto_flow(1, 0))  # Viber never reports: EXPIRED at its ttl
    primary = first["steps"][0]
    assert primary["status"] == "EXPIRED"
    assert primary["auto_ttl"]["seconds"] == 120
    assert "too little history" in primary["auto_ttl"]["reason"]

    # History: most Viber messages delivered after about a second, a fifth never delivered.
    digits = [4] * (MIN_SAMPLES - 20) + [2] * 25
    with ThreadPoolExecutor(max_workers=4) as pool:
        stories = list(
            pool.map(lambda pair: run_flow(api, auto_flow(pair[1], pair[0] + 1)), enumerate(digits))
        )
    assert all(s["status"] == "Succeeded" for s in stories)

    # The history is written behind the flows (services/delivery_history.py).
    def learned_enough() -> dict[str, Any] | None:
        model: dict[str, Any] = api.get("/stats/delivery-times", channel="viber").json()
        viber = next((m for m in model["models"] if m["country"] is None), None)
        return model if viber is not None and viber["samples"] >= MIN_SAMPLES else None

    model = wait_until(learned_enough, what=f"{MIN_SAMPLES} Viber samples in the history")
    assert model is not None
    assert {m["channel"] for m in model["models"]} == {"viber"}
    viber = next(m for m in model["models"] if m["country"] is None)
    assert viber["trusted"] is True

    # The SMS may report Sent before Delivered (the Routee set-up): wait for its final report.
    learned = run_flow(api, auto_flow(1, 9999), step_statuses=["EXPIRED", "delivered"])
    primary = learned["steps"][0]
    chosen = primary["auto_ttl"]["seconds"]
    assert 5 <= chosen < 120
    assert "95% of deliveries within 120 s" in primary["auto_ttl"]["reason"]


def test_a_fixed_ttl_story_has_no_auto_field(api: ApiSession) -> None:
    story = run_flow(api, viber_sms_flow(4, prefix="30691299999"))
    assert "auto_ttl" not in story["steps"][0]
