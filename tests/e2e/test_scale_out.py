"""Scale-out on PostgreSQL: several API and worker processes, nothing lost or sent twice.

The Routee provider talks HTTP to one ``failover-otp sandbox`` process, which counts every
message it accepts per destination; each flow has a number of its own, so a message sent twice
shows up as a count above one.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from pathlib import Path

import pytest

from tests.e2e.fleet import (
    TIME_SCALE,
    fleet,
    send_flows,
    wait_for_first_failover,
    wait_for_outcomes,
)
from tests.e2e.test_otp_sandbox_digits import EXPECTED
from tests.support.server import create_application

# Thousands of flows through real processes: minutes, not the default per-test limit.
pytestmark = pytest.mark.timeout(900)

VIBER_TTL = 120  # seconds, as the payload helper sends it
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def _assert_outcomes(outcomes: dict[str, dict[str, object]], sent: list[tuple[str, int]]) -> None:
    lost = [flow_id for flow_id, _ in sent if flow_id not in outcomes]
    assert not lost, f"{len(lost)} flows lost"
    wrong = []
    for flow_id, digit in sent:
        _, status, code, steps, cost = EXPECTED[digit]
        got = outcomes[flow_id]
        statuses = [s.upper() for s in steps]
        if digit == 0:  # SEEN may still be on its way after the flow ended
            statuses_ok = got["steps"] in (["SEEN"], ["DELIVERED"])
        else:
            statuses_ok = got["steps"] == statuses
        if (
            got["status"] != status
            or got["status_code"] != code
            or not statuses_ok
            or abs(float(got["total_cost"]) - cost) > 1e-9  # type: ignore[arg-type]
        ):
            wrong.append((digit, got))
    assert not wrong, f"{len(wrong)} flows ended wrong, e.g. {wrong[:3]}"


def _assert_sent_once(by_number: dict[str, int]) -> None:
    doubled = {number: n for number, n in by_number.items() if n > 1}
    assert not doubled, f"messages sent twice: {doubled}"


@pytest.mark.postgres
def test_two_apis_three_workers_2000_flows(postgres_url: str, tmp_path: Path) -> None:
    with fleet(tmp_path, postgres_url) as crew:
        crew.start_api()
        crew.start_api()
        for _ in range(3):
            crew.start_worker()
        app_id, secret = create_application(postgres_url)
        digits = [n % 10 for n in range(2000)]
        sent = asyncio.run(send_flows([a.url for a in crew.apis], app_id, secret, digits))
        outcomes = asyncio.run(wait_for_outcomes(postgres_url, [f for f, _ in sent], timeout=120))
        _assert_outcomes(outcomes, sent)
        _assert_sent_once(crew.sends_by_number())


def _lateness_ms(outcomes: dict[str, dict[str, object]], flow_ids: list[str]) -> list[float]:
    """How long after its Viber ttl ran out each failover SMS was created (real time)."""
    late = []
    for flow_id in flow_ids:
        sent_at = outcomes[flow_id]["sent"][0]  # type: ignore[index]
        created = outcomes[flow_id]["created"][1]  # type: ignore[index]
        due = VIBER_TTL / TIME_SCALE
        late.append(((created - sent_at).total_seconds() - due) * 1000)
    return late


def _report(name: str, late: list[float]) -> dict[str, float]:
    ordered = sorted(late)
    summary = {
        "flows": len(ordered),
        "median_ms": round(statistics.median(ordered), 1),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 1),
        "max_ms": round(ordered[-1], 1),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(summary, indent=2))
    print(f"\n{name}: deadline lateness {summary}")
    return summary


@pytest.mark.postgres
def test_worker_killed_with_1000_pending_failovers(postgres_url: str, tmp_path: Path) -> None:
    with fleet(tmp_path, postgres_url) as crew:
        crew.start_api()
        victim = crew.start_worker()
        crew.start_worker()
        app_id, secret = create_application(postgres_url)
        sent = asyncio.run(send_flows([crew.apis[0].url], app_id, secret, [1] * 1000))
        wait_for_first_failover(crew)
        victim.kill()
        crew.start_worker()  # the replacement; the dead worker's leases run out meanwhile
        ids = [f for f, _ in sent]
        outcomes = asyncio.run(wait_for_outcomes(postgres_url, ids, timeout=120))
        _assert_outcomes(outcomes, sent)
        _assert_sent_once(crew.sends_by_number())
        _report("crash-postgresql", _lateness_ms(outcomes, ids))


def test_single_sqlite_server_killed_with_1000_pending_failovers(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/crash.db"
    with fleet(tmp_path, database_url) as crew:
        server = crew.start_api(with_worker=True)
        app_id, secret = create_application(database_url)
        sent = asyncio.run(send_flows([server.url], app_id, secret, [1] * 1000))
        wait_for_first_failover(crew)
        server.kill()
        server.start()  # same port, so the sandbox's callbacks find it again
        ids = [f for f, _ in sent]
        outcomes = asyncio.run(wait_for_outcomes(database_url, ids, timeout=120))
        _assert_outcomes(outcomes, sent)
        _assert_sent_once(crew.sends_by_number())
        _report("crash-sqlite", _lateness_ms(outcomes, ids))
