"""``python -m benchmarks.fire_rate``: how many deadlines one failover worker fires a second.

A backlog of ``--flows`` pending flows whose Viber ttl has already run out (clones of one real
pending flow, as the timing benchmark makes them) is handed to one deadline worker, run in this
process on the service's own bootstrap (``open_services``, the embedded sandbox, as
``failover-otp worker`` runs it): at each deadline it looks the Viber message up, expires the step
and sends the SMS. Reported: fires a second from the first claim to the last fire, and CPU
milliseconds per fire (this process: the worker and the embedded sandbox). ``--profile FILE``
writes a cProfile of the run (``--top N`` prints the functions that take the most of it).

    python -m benchmarks.fire_rate --db postgres --flows 3000
    python -m benchmarks.fire_rate --db postgres --flows 2000 --profile artifacts/bench/fire.prof
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvloop

from benchmarks.harness import BENCH_ENV, Service, one_database
from benchmarks.seed import SeedPlan, seed
from benchmarks.workload import PENDING_ONLY, create_templates


async def fire_all(
    database_url: str, flows: int, profile: cProfile.Profile | None
) -> dict[str, float]:
    from failover_otp.bootstrap import open_services
    from failover_otp.cli.main import load_settings
    from failover_otp.logging_setup import configure_logging
    from failover_otp.metrics import PROVIDER_SENDS

    sms_sent = PROVIDER_SENDS.labels("sms", "accepted")
    settings = load_settings(database_url=database_url)
    # As `failover-otp worker` logs (structlog's default renders each traceback's locals: slow).
    configure_logging(settings.log_level, json=settings.log_json)
    async with open_services(settings) as services:
        worker = services.deadline_worker()
        stop = asyncio.Event()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        sent0 = sms_sent._value.get()
        if profile is not None:
            profile.enable()
        task = asyncio.create_task(worker.run(stop))
        shown = time.perf_counter()
        while worker.fired < flows and not task.done():
            await asyncio.sleep(0.02)
            if time.perf_counter() - shown > 5:
                shown = time.perf_counter()
                print(f"    {worker.fired:,} fired after {shown - wall0:.0f} s", flush=True)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        if profile is not None:
            profile.disable()
        stop.set()
        await task
        sent = int(sms_sent._value.get() - sent0)
    return {
        "flows": flows,
        "fired": worker.fired,
        "seconds": round(wall, 2),
        "fires_per_second": round(worker.fired / wall, 1),
        "cpu_ms_per_fire": round(1000 * cpu / max(1, worker.fired), 2),
        # SMS the sandbox accepted beyond one per flow (a fire repeated on a stale lease).
        "doubled": max(0, sent - flows),
        "sms_sent": sent,
    }


def run(kind: str, flows: int, profile_path: Path | None, top: int) -> dict[str, float]:
    os.environ.update(BENCH_ENV)
    with one_database(kind, "fire") as (scratch, db):
        with Service(db.url, scratch, time_scale=120) as service:
            templates = create_templates(service, PENDING_ONLY)
        now = datetime.now(UTC)
        plan = SeedPlan(
            templates,
            flows,
            now - timedelta(minutes=2),
            now,
            due_from=now - timedelta(seconds=30),
            run=30,
            due_spacing=1.0 / flows,
            last_digit=1,
        )
        seed(kind, db.url, plan, live=True)
        profile = cProfile.Profile() if profile_path is not None else None
        result = uvloop.run(fire_all(db.url, flows, profile))
    if profile is not None and profile_path is not None:
        profile_path.parent.mkdir(parents=True, exist_ok=True)
        profile.dump_stats(str(profile_path))
        if top:
            pstats.Stats(str(profile_path)).sort_stats("cumulative").print_stats(top)
            pstats.Stats(str(profile_path)).sort_stats("tottime").print_stats(top)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--flows", type=int, default=3_000)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args()
    print(run(args.db, args.flows, args.profile, args.top), flush=True)


if __name__ == "__main__":
    main()
