"""``python -m benchmarks`` (``make bench ARGS="..."``): run the benchmarks, report the figures.

Examples::

    make bench                                  # everything, full sizes (~15-20 min)
    make bench ARGS="--quick"                   # everything, small sizes (~4 min)
    make bench ARGS="--only send,get --db sqlite"
    make bench ARGS="--only list --list-flows 200000"
    make bench ARGS="--only dashboard --db sqlite"   # its views at 5,000 flows, sends beside it
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import report
from benchmarks.adaptive_suite import FLOWS_DEFAULT, bench_adaptive
from benchmarks.dashboard_suite import at_list_size, bench_dashboard
from benchmarks.harness import (
    OTHER_SRC,
    ROOT,
    Databases,
    git_revision,
    machine_facts,
    scratch_dir,
)
from benchmarks.results import Results
from benchmarks.send_get import bench_send_and_get
from benchmarks.suites import Context, Options, bench_list, bench_timing

BENCHMARKS = ("send", "get", "list", "timing", "memory", "dashboard", "adaptive")
DATABASES = ("sqlite", "postgres")


def _csv(allowed: tuple[str, ...]) -> type:
    def parse(text: str) -> tuple[str, ...]:
        items = tuple(x.strip() for x in text.split(",") if x.strip())
        unknown = [x for x in items if x not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown: {', '.join(unknown)} (from {allowed})")
        return items

    return parse  # type: ignore[return-value]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmarks of failover-otp with targets; see docs/benchmarks.md.",
    )
    parser.add_argument(
        "--only",
        type=_csv(BENCHMARKS),
        default=BENCHMARKS,
        help=f"comma-separated subset of {','.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--db",
        type=_csv(DATABASES),
        default=DATABASES,
        help="comma-separated subset of sqlite,postgres",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, short phases")
    parser.add_argument("--duration", type=float, help="seconds per measured load phase")
    parser.add_argument(
        "--quiet-patience",
        type=float,
        help="seconds to wait before each phase for the machine to be quiet (busy machines)",
    )
    parser.add_argument("--list-flows", type=int, help="stored flows for the list benchmark")
    parser.add_argument("--timing-flows", type=int, help="flows failing over in the timing run")
    parser.add_argument(
        "--timing-pending", type=int, help="extra pending flows for the timing/memory run"
    )
    parser.add_argument(
        "--adaptive-flows",
        type=int,
        default=FLOWS_DEFAULT,
        help=f"flows per policy in the adaptive benchmark (default {FLOWS_DEFAULT:,})",
    )
    parser.add_argument(
        "--docs",
        choices=("auto", "yes", "no"),
        default="auto",
        help="write the figures into docs/benchmarks.md (auto: only for a full run of all)",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "artifacts" / "bench", help="where results go"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    options = Options.for_mode(args.quick, tuple(args.db))
    if args.duration:
        options.duration = args.duration
    if args.quiet_patience is not None:
        options.quiet_patience = args.quiet_patience
    if args.list_flows:
        options.list_flows = args.list_flows
    if args.timing_flows:
        options.timing_flows = args.timing_flows
    if args.timing_pending:
        options.timing_pending = args.timing_pending
    started = time.monotonic()
    results = Results()
    args.out.mkdir(parents=True, exist_ok=True)
    with scratch_dir() as scratch:
        databases = Databases(scratch)
        ctx = Context(options, databases, scratch, results)
        try:
            pg_db = databases.postgres() if "postgres" in options.databases else None
            results.facts["machine"] = machine_facts(pg_db.url if pg_db else None)
            if pg_db is not None:
                databases.drop(pg_db)
            only = set(args.only)
            if only & {"send", "get"}:
                print("== send / get", flush=True)
                bench_send_and_get(ctx, "send" in only, "get" in only)
            if "list" in only:
                print("== list / search", flush=True)
                bench_list(ctx, at_list_size(ctx) if "dashboard" in only else None)
            if "dashboard" in only:
                print("== dashboard", flush=True)
                bench_dashboard(ctx)
            if "adaptive" in only:
                print("== adaptive failover timing (sandbox profile realistic)", flush=True)
                bench_adaptive(results, scratch, args.adaptive_flows)
            if only & {"timing", "memory"}:
                print("== failover timing / memory", flush=True)
                bench_timing(ctx, "timing" in only, "memory" in only)
        finally:
            ctx.close()
            databases.close()
    full = not args.quick and set(args.only) == set(BENCHMARKS) and set(args.db) == set(DATABASES)
    results.facts["run"] = {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if args.quick else "full",
        "minutes": round((time.monotonic() - started) / 60, 1),
        "revision": git_revision(),
        "command": "make bench" + (f' ARGS="{shlex.join(sys.argv[1:])}"' if sys.argv[1:] else ""),
        "benchmarks": list(args.only),
        "databases": list(args.db),
        "service_source": OTHER_SRC or str(ROOT / "src"),
    }
    block = report.render(results)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    report.write_json(args.out / f"results-{stamp}.json", results)
    (args.out / "latest.md").write_text(block + "\n")
    print()
    print(block)
    if args.docs == "yes" or (args.docs == "auto" and full):
        report.write_docs(ROOT / "docs" / "benchmarks.md", block)
        print(f"\nwrote the figures into {ROOT / 'docs' / 'benchmarks.md'}")
    print(f"results: {args.out / f'results-{stamp}.json'}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
