"""``python -m benchmarks.memory_growth``: does ``serve`` stay flat as sends pile up?

``serve`` in its production shape (``--provider routee`` against the standalone sandbox, one
process) on a fresh database receives ``--sends`` flows from 32 connections, each to its own
number (the worst case for the phone-number caches) and delivered on Viber (numbers ending in
0, so the sandbox reports back and forgets them); the RSS of ``serve`` and of the sandbox and
the service's cache gauges (``fotp_cache_entries``) are read at each checkpoint. Issue 14's
target: RSS at most 150 MB, within 10 % from 10,000 to 100,000 sends.

    python -m benchmarks.memory_growth --db postgres --sends 100000 --every 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import urllib.request
from typing import Any

from benchmarks import loadgen
from benchmarks.harness import BENCH_ENV, Service, one_database, routee_env, sandbox_process
from benchmarks.loadgen import Client, Request
from benchmarks.workload import SEND_PATH, Bodies


def _cache_gauges(url: str) -> dict[str, float]:
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=120) as answer:
            text = answer.read().decode()
    except OSError:  # a service still draining a backlog on a starved machine: no gauges
        return {}
    gauges = {}
    for line in text.splitlines():
        if line.startswith("fotp_cache_entries{"):
            name = line.split('cache="', 1)[1].split('"', 1)[0]
            gauges[name] = float(line.rsplit(" ", 1)[1])
    return gauges


async def _send(service: Service, bodies: Bodies, start: int, count: int) -> dict[int, int]:
    statuses: dict[int, int] = {}
    async with Client(service.url, service.auth, limit=32) as client:
        queue = iter(range(start, start + count))

        async def worker() -> None:
            for i in queue:
                try:
                    status, _ = await client.call(Request("POST", SEND_PATH, bodies(i)))
                except Exception:  # a refused or timed-out request: counted as 0
                    status = 0
                statuses[status] = statuses.get(status, 0) + 1

        await asyncio.gather(*(worker() for _ in range(32)))
    return statuses


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory_growth")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--sends", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.update(BENCH_ENV)
    rows: list[dict[str, Any]] = []
    with one_database(args.db, "memory") as (scratch, db):
        sandbox = sandbox_process(scratch).start()
        # Capacity, not shedding: requests wait for the database as long as they must.
        env = {**routee_env(sandbox.url), "FOTP_DB_POOL_TIMEOUT_SECONDS": "60"}
        service = Service(db.url, scratch, extra_env=env)
        try:
            service.start()
            assert service.process is not None
            bodies = Bodies(0, viber_ttl=120, salt=os.getpid())
            started = time.monotonic()
            done = 0
            while done < args.sends:
                count = min(args.every, args.sends - done)
                statuses = loadgen.run(_send(service, bodies, done, count))
                done += count
                row = {
                    "sends": done,
                    "seconds": round(time.monotonic() - started, 1),
                    "serve_rss_mb": round(service.process.rss_mb(), 1),
                    "sandbox_rss_mb": round(sandbox.rss_mb(), 1),
                    "statuses": statuses,
                    "caches": _cache_gauges(service.url),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            service.stop()
            sandbox.stop()
    first = next((r for r in rows if r["sends"] >= 10_000), rows[0])
    peak = max(r["serve_rss_mb"] for r in rows)
    growth = peak / first["serve_rss_mb"] - 1
    print(
        f"serve RSS: {first['serve_rss_mb']} MB at {first['sends']:,} sends, peak {peak} MB "
        f"(+{100 * growth:.1f} %); sandbox {rows[-1]['sandbox_rss_mb']} MB at the end"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
