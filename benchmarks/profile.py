"""``python -m benchmarks.profile``: a py-spy profile of ``serve`` under one benchmark load.

Starts the real service on a fresh database (as the benchmarks do), drives it with a closed loop
of 64 connections and records where its CPU goes with py-spy (``pip install py-spy``; it is not a
dependency of the service). The profile is a speedscope or flame-graph file to open in a browser,
and ``--top`` prints the functions that take the most of it.

    python -m benchmarks.profile send --db sqlite --seconds 15 --out artifacts/bench/send.txt
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import loadgen
from benchmarks.harness import ROOT, Service, one_database
from benchmarks.loadgen import Client, Request
from benchmarks.suites import CONNECTIONS, _sample_ids
from benchmarks.workload import SEND_PATH, Bodies

LOADS = ("send", "send-reported", "get")


def _request_factory(
    load: str, service: Service, db_kind: str, db_url: str
) -> loadgen.RequestFactory:
    if load == "get":
        from benchmarks.harness import BenchDatabase

        ids = _sample_ids(BenchDatabase(db_kind, db_url, note=""), 20_000)
        return lambda i: Request("GET", f"/otp/failover/{ids[i % len(ids)]}")
    bodies = Bodies(0 if load == "send-reported" else 1, viber_ttl=3_600, salt=os.getpid())
    return lambda i: Request("POST", SEND_PATH, bodies(i))


def _fill(service: Service, count: int) -> None:
    bodies = Bodies(0, salt=os.getpid() + 1)

    async def run() -> None:
        async with Client(service.url, service.auth, limit=CONNECTIONS) as client:
            await loadgen.closed_loop(
                client,
                lambda i: Request("POST", SEND_PATH, bodies(i)),
                connections=CONNECTIONS,
                duration=max(2.0, count / 100),
                warmup=0.0,
            )

    loadgen.run(run())


def _top(collapsed: Path, limit: int) -> str:
    """Self and inclusive sample shares of the functions in a collapsed-stacks file."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    out = [f"{total} samples", "", "self %  function"]
    out += [f"{100 * n / total:5.1f}  {f}" for f, n in own.most_common(limit)]
    out += ["", "incl %  function"]
    out += [f"{100 * n / total:5.1f}  {f}" for f, n in inclusive.most_common(limit)]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("load", choices=LOADS)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench" / "profile.txt")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        print("py-spy is not installed: pip install py-spy", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with one_database(args.db, "profile") as (scratch, db):
        workdir = scratch / "serve"
        workdir.mkdir()
        service = Service(db.url, workdir).start()
        try:
            assert service.process is not None
            if args.load == "get":
                _fill(service, 2_000)
            make = _request_factory(args.load, service, db.kind, db.url)
            collapsed = args.out.with_suffix(".collapsed")
            spy = subprocess.Popen(
                [
                    py_spy,
                    "record",
                    "--pid",
                    str(service.process.pid),
                    "--format",
                    "raw",
                    "--rate",
                    "250",
                    "--duration",
                    str(int(args.seconds)),
                    "--output",
                    str(collapsed),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
            )

            async def run() -> loadgen.LoadResult:
                async with Client(service.url, service.auth, limit=CONNECTIONS) as client:
                    return await loadgen.closed_loop(
                        client,
                        make,
                        connections=CONNECTIONS,
                        duration=args.seconds,
                        warmup=0.5,
                    )

            result = loadgen.run(run())
            spy.wait(timeout=60)
            time.sleep(0.2)
        finally:
            service.stop()
    summary = f"{args.load} on {args.db}: {result.rate:,.0f} req/s, errors {result.errors}"
    text = summary + "\n" + _top(collapsed, args.top)
    args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
