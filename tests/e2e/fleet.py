"""A fleet of real processes on one database: API servers, workers and the Routee sandbox."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from failover_otp.client import AsyncFailoverOtpClient, RetryPolicy
from tests.support.payloads import viber_sms_flow
from tests.support.postgres import asyncpg_dsn
from tests.support.server import ServerProcess, routee_env, serve_args
from tests.support.waiting import wait_until, wait_until_async

TIME_SCALE = 60


@dataclass
class Fleet:
    workdir: Path
    database_url: str
    sandbox: ServerProcess
    apis: list[ServerProcess] = field(default_factory=list)
    workers: list[ServerProcess] = field(default_factory=list)

    def start_api(self, *, with_worker: bool = False) -> ServerProcess:
        proc = ServerProcess(args=[], workdir=self.workdir)
        extra = ["--provider", "routee"] + ([] if with_worker else ["--no-worker"])
        proc.args = serve_args(proc.port, self.database_url, *extra, time_scale=TIME_SCALE)
        proc.env = routee_env(self.sandbox.url, self.apis[0].url if self.apis else proc.url)
        self.apis.append(proc.start())
        return proc

    def start_worker(self) -> ServerProcess:
        proc = ServerProcess(args=[], workdir=self.workdir)
        proc.args = [
            "worker",
            "--database-url",
            self.database_url,
            "--provider",
            "routee",
            "--time-scale",
            str(TIME_SCALE),
        ]
        proc.env = routee_env(self.sandbox.url, self.apis[0].url)
        self.workers.append(proc.start(wait=False))
        return proc

    def stop(self) -> None:
        for proc in [*self.workers, *self.apis, self.sandbox]:
            proc.stop()

    def sends_by_number(self) -> dict[str, int]:
        counts: dict[str, int] = httpx.get(self.sandbox.url + "/_sandbox/sends").json()["by_number"]
        return counts


@contextmanager
def fleet(workdir: Path, database_url: str) -> Iterator[Fleet]:
    sandbox = ServerProcess(args=[], workdir=workdir, health_path="/_sandbox/sends")
    sandbox.args = ["sandbox", "--port", str(sandbox.port), "--time-scale", str(TIME_SCALE)]
    sandbox.start()
    crew = Fleet(workdir, database_url, sandbox)
    try:
        yield crew
    finally:
        crew.stop()


def unique_number(n: int, digit: int) -> str:
    """A distinct valid Greek mobile per flow, ending in the sandbox digit."""
    return f"69{n:07d}{digit}"


# What a client does with a documented 503 + Retry-After (docs/api.md: the database had no
# connection free in time): waits as told and sends again. The project's own client does it,
# with an Idempotency-Key on every send, so a retried send is never sent twice. A load test on
# a busy machine meets such answers; patient retries keep them from failing the test.
LOAD_TEST_RETRY = RetryPolicy(attempts=12, backoff=0.25, max_wait=8.0)


async def send_flows(
    urls: list[str], app_id: str, secret: str, digits: list[int], *, concurrency: int = 32
) -> list[tuple[str, int]]:
    """POST one flow per digit, round-robin over the API servers; returns (flowId, digit)."""
    clients = [
        AsyncFailoverOtpClient(
            url,
            app_id,
            secret,
            timeout=60,
            retry=LOAD_TEST_RETRY,
            transport=httpx.AsyncHTTPTransport(),  # a transport of its own: no proxy from env
        )
        for url in urls
    ]
    slots = asyncio.Semaphore(concurrency)

    async def one(n: int, digit: int) -> tuple[str, int]:
        body = viber_sms_flow(digit, prefix="30" + unique_number(n, digit)[:-1])
        async with slots:
            answer = await clients[n % len(clients)].send_failover(body)
        assert answer.flowId is not None, answer
        return answer.flowId, digit

    try:
        return await asyncio.gather(*(one(n, d) for n, d in enumerate(digits)))
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


_SQLITE_OUTCOMES = """
SELECT f.id, f.status, f.status_code, f.total_cost, s.status, s.created_at, s.sent_at
FROM flows f JOIN steps s ON s.flow_id = f.id ORDER BY f.id, s.idx"""


def _sqlite_outcomes(path: str) -> dict[str, dict[str, Any]]:
    outcomes: dict[str, dict[str, Any]] = {}
    with closing(sqlite3.connect(path)) as conn:
        for flow_id, status, code, cost, step, created, sent in conn.execute(_SQLITE_OUTCOMES):
            row = outcomes.setdefault(
                flow_id,
                {
                    "status": status,
                    "status_code": code,
                    "total_cost": cost,
                    "steps": [],
                    "created": [],
                    "sent": [],
                },
            )
            row["steps"].append(step)
            row["created"].append(datetime.fromisoformat(created))
            row["sent"].append(datetime.fromisoformat(sent) if sent else None)
    return outcomes


async def flow_outcomes(database_url: str) -> dict[str, dict[str, Any]]:
    """Every flow's status, code, step statuses and cost, read straight from the database."""
    if database_url.startswith("sqlite:///"):
        return _sqlite_outcomes(database_url.removeprefix("sqlite:///"))
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch(
            """SELECT f.id, f.status, f.status_code, f.total_cost,
                      array_agg(s.status ORDER BY s.idx) AS steps,
                      array_agg(s.created_at ORDER BY s.idx) AS created,
                      array_agg(s.sent_at ORDER BY s.idx) AS sent
               FROM flows f JOIN steps s ON s.flow_id = f.id GROUP BY f.id"""
        )
    finally:
        await conn.close()
    return {r["id"]: dict(r) for r in rows}


# Step statuses (as stored) after which a final report is still to come.
_AWAITING_VERDICT = frozenset({"SENDING", "QUEUED", "SENT"})


async def wait_for_outcomes(
    database_url: str, flow_ids: list[str], timeout: float
) -> dict[str, dict[str, Any]]:
    """Every flow's outcome once none of ``flow_ids`` is InProgress any more, nor has a step
    still waiting for its verdict: an SMS ``Sent`` already makes its flow Succeeded (the seed's
    rule), and its Delivered or Undelivered follows."""
    open_flows: list[str] = []

    def is_open(outcome: dict[str, Any] | None) -> bool:
        if outcome is None:
            return False  # not stored at all: lost, which the caller reports
        if outcome["status"] == "InProgress":
            return True
        return any(step in _AWAITING_VERDICT for step in outcome["steps"])

    async def settled() -> dict[str, dict[str, Any]] | None:
        outcomes = await flow_outcomes(database_url)
        open_flows[:] = [f for f in flow_ids if is_open(outcomes.get(f))]
        return None if open_flows else outcomes

    outcomes: dict[str, dict[str, Any]] | None = await wait_until_async(
        settled,
        timeout,
        what=lambda: f"{len(open_flows)} flows not settled, e.g. {open_flows[:3]}",
        interval=0.5,
    )
    assert outcomes is not None
    return outcomes


def wait_for_first_failover(crew: Fleet, timeout: float = 60.0) -> None:
    """Until the first failover SMS has gone out: the deadlines have started to fall due."""
    wait_until(
        lambda: any(key.startswith("sms:") for key in crew.sends_by_number()),
        timeout,
        what="the first failover SMS",
    )
