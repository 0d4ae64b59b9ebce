"""Five benchmarks (a sixth, ``dashboard``, is in ``dashboard_suite.py``). Each records
:class:`~benchmarks.results.Figure` objects with targets.

1. ``send``   POST /otp/send-failover: closed loop at 64 connections, open loop at 500 flows/s.
2. ``get``    GET /otp/failover/{id}: closed loop at 64 connections, open loop at 1,500 req/s.
3. ``list``   GET /otp/failover and POST /failover/tracking over 1,000,000 stored flows.
4. ``timing`` 10,000 Viber ttls expiring within a minute: lateness of the SMS failover, alone
              and with 100,000 more flows pending.
5. ``memory`` resident size of ``serve`` with 100,000 pending flows.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks import loadgen, monitor
from benchmarks.harness import (
    BenchDatabase,
    Databases,
    Process,
    Service,
    ceiling_process,
    sandbox_process,
    wait_until_drained,
)
from benchmarks.loadgen import Client, LoadResult, Request
from benchmarks.results import Figure, Results, at_least, at_most
from benchmarks.seed import SeedPlan, Template, clone_id, clone_phone, seed
from benchmarks.workload import PENDING_ONLY, TEMPLATE_MIX, create_templates

SEND_RATE_TARGET = 1_000.0
SEND_P99_TARGET_MS = 50.0
SEND_OPEN_RATE = 500.0
GET_RATE_TARGET = 3_000.0
GET_P99_TARGET_MS = 20.0
GET_OPEN_RATE = 1_500.0
LIST_P95_TARGET_MS = 50.0
LATENESS_P99_TARGET_MS = 500.0
RSS_TARGET_MB = 150.0
LIST_TIMEOUT_S = 30.0
# Each list query is timed `list_repeats` times, or for this long once it has this many samples.
LIST_BUDGET_S = 8.0
LIST_MIN_SAMPLES = 5
CONNECTIONS = 64


@dataclass
class Options:
    quick: bool = False
    databases: tuple[str, ...] = ("sqlite", "postgres")
    duration: float = 12.0  # seconds per measured load phase
    warmup: float = 3.0
    list_flows: int = 1_000_000
    dashboard_flows: int = 5_000
    list_repeats: int = 20
    timing_flows: int = 10_000
    timing_pending: int = 100_000
    quiet_patience: float = 120.0

    @classmethod
    def for_mode(cls, quick: bool, databases: tuple[str, ...]) -> Options:
        if not quick:
            return cls(databases=databases)
        return cls(
            quick=True,
            databases=databases,
            duration=6.0,
            warmup=2.0,
            list_flows=100_000,
            list_repeats=8,
            timing_flows=2_000,
            timing_pending=20_000,
            quiet_patience=30.0,
        )


@dataclass
class Context:
    options: Options
    databases: Databases
    scratch: Path
    results: Results
    ceiling: Process | None = None
    ceiling_cache: dict[str, LoadResult] = field(default_factory=dict)
    sandbox: Process | None = None

    def ceiling_url(self) -> str:
        if self.ceiling is None:
            self.ceiling = ceiling_process(self.scratch).start()
        return self.ceiling.url

    def sandbox_url(self) -> str:
        """The standalone Routee sandbox (one per run), the provider of the production shape."""
        if self.sandbox is None:
            self.sandbox = sandbox_process(self.scratch).start()
        return self.sandbox.url

    def close(self) -> None:
        for process in (self.ceiling, self.sandbox):
            if process is not None:
                process.stop()


# --------------------------------------------------------------------------- helpers


def _quiet(ctx: Context, pids: list[int]) -> float:
    other = monitor.wait_until_quiet(pids, patience=ctx.options.quiet_patience)
    if other > 0.3:
        print(f"    note: other processes use {other:.2f} cores (machine not quiet)", flush=True)
    return other


@dataclass
class Measured:
    load: LoadResult
    cpu: dict[str, float]
    background_before: float

    def detail(self) -> dict[str, Any]:
        return {
            **self.load.summary(),
            "cores": self.cpu,
            "background_cores_before": self.background_before,
        }


def _drain(url: str, server_pid: int) -> None:
    """Wait until the service has no work left over from an earlier phase (queued requests,
    delivery reports): it must not count against the next one (``wait_until_drained``)."""
    if not wait_until_drained(server_pid, url + "/"):
        print("    note: the service was still busy when the phase started", flush=True)


def _measure(
    ctx: Context,
    url: str,
    server_pid: int,
    run: Callable[[], Any],
) -> Measured:
    import os

    _drain(url, server_pid)
    names = {server_pid: "server", os.getpid(): "load_generator"}
    if ctx.sandbox is not None and ctx.sandbox.pid != server_pid:
        names[ctx.sandbox.pid] = "sandbox"  # the provider of the production shape
    pids = list(names)
    background = _quiet(ctx, pids)
    before = monitor.sample(pids)
    load: LoadResult = loadgen.run(run())
    after = monitor.sample(pids)
    cpu = monitor.usage(before, after, names)
    return Measured(load, cpu, background)


def _closed(
    ctx: Context, url: str, headers: dict[str, str], make: loadgen.RequestFactory, pid: int
) -> Measured:
    async def run() -> LoadResult:
        async with Client(url, headers, limit=CONNECTIONS) as client:
            return await loadgen.closed_loop(
                client,
                make,
                connections=CONNECTIONS,
                duration=ctx.options.duration,
                warmup=ctx.options.warmup,
            )

    return _measure(ctx, url, pid, run)


def _open(
    ctx: Context,
    url: str,
    headers: dict[str, str],
    make: loadgen.RequestFactory,
    pid: int,
    rate: float,
    *,
    duration: float | None = None,
) -> Measured:
    async def run() -> LoadResult:
        async with Client(url, headers, limit=1_000, timeout=15.0) as client:
            return await loadgen.open_loop(
                client,
                make,
                rate=rate,
                duration=duration or ctx.options.duration,
                warmup=ctx.options.warmup,
            )

    return _measure(ctx, url, pid, run)


def _ceiling(ctx: Context, key: str, measure: Callable[[str, int], Measured]) -> LoadResult:
    """The bare ASGI endpoint under the same load (measured once per run and key)."""
    if key not in ctx.ceiling_cache:
        url = ctx.ceiling_url()
        assert ctx.ceiling is not None
        measured = measure(url, ctx.ceiling.pid)
        ctx.ceiling_cache[key] = measured.load
        ctx.results.extra.setdefault("ceilings", {})[key] = measured.detail()
        print(
            f"  [ceiling] {key}: {measured.load.rate:,.0f} req/s, "
            f"p99 {measured.load.percentile(99):.2f} ms",
            flush=True,
        )
    return ctx.ceiling_cache[key]


def _ratio(value: float, ceiling: float) -> float | None:
    return round(value / ceiling, 3) if ceiling else None


@contextmanager
def _service(
    ctx: Context,
    db: BenchDatabase,
    *,
    time_scale: float = 1.0,
    name: str = "serve",
    extra_env: dict[str, str] | None = None,
) -> Iterator[Service]:
    workdir = ctx.scratch / f"{name}-{db.kind}"
    workdir.mkdir(exist_ok=True)
    service = Service(db.url, workdir, time_scale=time_scale, extra_env=dict(extra_env or {}))
    service.start()
    try:
        yield service
    finally:
        service.stop()


def _open_db(ctx: Context, kind: str, name: str) -> BenchDatabase | None:
    if kind == "sqlite":
        return ctx.databases.sqlite(name)
    db = ctx.databases.postgres()
    if db is None:
        reason = ctx.databases.postgres_problem or "no PostgreSQL"
        if reason not in ctx.results.skipped:
            ctx.results.skipped.append(f"PostgreSQL benchmarks skipped: {reason}")
    return db


def _sample_ids(db: BenchDatabase, limit: int) -> list[str]:
    if db.kind == "sqlite":
        conn = sqlite3.connect(db.url.removeprefix("sqlite:///"))
        try:
            rows = conn.execute(
                "SELECT id FROM flows WHERE kind = 'otp' ORDER BY random() LIMIT ?", (limit,)
            ).fetchall()
        finally:
            conn.close()
        return [str(r[0]) for r in rows]

    async def fetch() -> list[str]:
        import asyncpg
        from tests.support.postgres import asyncpg_dsn

        conn = await asyncpg.connect(asyncpg_dsn(db.url))
        try:
            rows = await conn.fetch(
                "SELECT id FROM flows WHERE kind = 'otp' ORDER BY random() LIMIT $1", limit
            )
        finally:
            await conn.close()
        return [str(r["id"]) for r in rows]

    result: list[str] = asyncio.run(fetch())
    return result


async def _pg_fetch(url: str, query: str, *args: Any) -> list[dict[str, Any]]:
    import asyncpg
    from tests.support.postgres import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return [dict(r) for r in await conn.fetch(query, *args)]
    finally:
        await conn.close()


def _query(db: BenchDatabase, sqlite_sql: str, pg_sql: str, *args: Any) -> list[dict[str, Any]]:
    """A read straight from the database (checks, never the measured path)."""
    if db.kind == "sqlite":
        conn = sqlite3.connect(db.url.removeprefix("sqlite:///"))
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sqlite_sql, args).fetchall()]
        finally:
            conn.close()
    rows: list[dict[str, Any]] = asyncio.run(_pg_fetch(db.url, pg_sql, *args))
    return rows


def _parse_time(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- 1 + 2: send, get


def cpu_ms_per_request(measured: Measured) -> float:
    """CPU the service spent per answered request during the phase (ms)."""
    load = measured.load
    return measured.cpu.get("server", 0.0) * 1000.0 / load.rate if load.rate else 0.0


def _rate_figure(
    bench: str,
    kind: str,
    name: str,
    measured: Measured,
    unit: str,
    target: float,
    ceiling: LoadResult,
    reference: Measured | None = None,
) -> Figure:
    load = measured.load
    cpu = f", CPU {cpu_ms_per_request(measured):.2f} ms/request"
    if reference is not None:
        cpu += f" (reference {cpu_ms_per_request(reference):.2f} ms)"
    return Figure(
        bench,
        kind,
        name,
        load.rate,
        unit,
        f">= {target:,.0f}",
        at_least(load.rate, target) and load.errors == 0,
        ceiling=ceiling.rate,
        ratio=_ratio(load.rate, ceiling.rate),
        note=f"errors {load.errors}, p50 {load.percentile(50):.1f} ms, "
        f"p99 {load.percentile(99):.1f} ms, service {measured.cpu.get('server', 0):.2f} cores"
        + cpu,
        detail=measured.detail(),
        reference=reference.load.rate if reference else None,
        vs_reference=_ratio(load.rate, reference.load.rate) if reference else None,
    )


def _p99_figure(
    bench: str, kind: str, name: str, measured: Measured, target: float, ceiling: LoadResult
) -> Figure:
    load = measured.load
    p99 = load.percentile(99)
    return Figure(
        bench,
        kind,
        name,
        p99,
        "ms",
        f"<= {target:.0f}",
        at_most(p99, target) and load.errors == 0,
        ceiling=ceiling.percentile(99),
        ratio=_ratio(p99, ceiling.percentile(99)),
        note=f"errors {load.errors}, achieved {load.rate:.0f}/s, "
        f"p50 {load.percentile(50):.1f} ms, service {measured.cpu.get('server', 0):.2f} cores",
        detail=measured.detail(),
    )


def _below_saturation(
    ctx: Context,
    service: Service,
    make: loadgen.RequestFactory,
    pid: int,
    closed: Measured,
    bench: str,
    kind: str,
    unit: str,
) -> int:
    """Latency at half the rate the closed loop sustained (no target: where a fixed target rate
    is above what the service sustains, its p99 measures the queue, not the service). Returns
    the requests completed."""
    rate = max(10.0, round(closed.load.rate / 2))
    measured = _open(ctx, service.url, service.auth, make, pid, rate)
    load = measured.load
    ctx.results.add(
        Figure(
            bench,
            kind,
            f"p99 latency, open loop at half the sustained rate ({rate:,.0f} {unit})",
            load.percentile(99),
            "ms",
            note=f"errors {load.errors}, achieved {load.rate:.0f}/s, "
            f"p50 {load.percentile(50):.1f} ms, service {measured.cpu.get('server', 0):.2f} cores",
            detail=measured.detail(),
        )
    )
    return load.completed


def _get_root(_: int) -> Request:
    return Request("GET", "/")


def _fill(ctx: Context, service: Service, make: loadgen.RequestFactory, count: int) -> None:
    async def run() -> None:
        async with Client(service.url, service.auth, limit=32) as client:
            sem = asyncio.Semaphore(32)

            async def one(i: int) -> None:
                async with sem:
                    await client.call(make(1_000_000 + i))

            await asyncio.gather(*(one(i) for i in range(count)))

    loadgen.run(run())
    time.sleep(4.0)


# --------------------------------------------------------------------------- 3: list / search


@dataclass(frozen=True)
class ListQuery:
    name: str
    method: str
    path: str
    body: Any = None

    def request(self) -> Request:
        data = json.dumps(self.body).encode() if self.body is not None else None
        return Request(self.method, self.path, data)


def _list_queries(
    app_id: str, any_flow: str, phone: str, day: datetime
) -> list[tuple[ListQuery, Callable[[dict[str, Any]], ListQuery] | None]]:
    """Each documented filter: a first-page query and how to build its last page."""
    del app_id

    def otp(name: str, query: str) -> tuple[ListQuery, Callable[[dict[str, Any]], ListQuery]]:
        sep = "&" if query else ""

        def last(first: dict[str, Any]) -> ListQuery:
            offset = max(0, int(first["total"]) - 50)
            return ListQuery(
                f"{name}, last page", "GET", f"/otp/failover?{query}{sep}limit=50&offset={offset}"
            )

        return ListQuery(f"{name}, first page", "GET", f"/otp/failover?{query}{sep}limit=50"), last

    def tracking(
        name: str, filters: list[dict[str, str]], dates: str = ""
    ) -> tuple[ListQuery, Callable[[dict[str, Any]], ListQuery]]:
        def last(first: dict[str, Any]) -> ListQuery:
            page = max(0, int(first["totalPages"]) - 1)
            return ListQuery(
                f"{name}, last page",
                "POST",
                f"/failover/tracking?size=50&page={page}{dates}",
                filters,
            )

        return (
            ListQuery(f"{name}, first page", "POST", f"/failover/tracking?size=50{dates}", filters),
            last,
        )

    one_day = (
        f"&dateStart={day.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        f"&dateEnd={(day + timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
    )
    week = (
        f"&dateStart={(day - timedelta(days=7)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
        f"&dateEnd={day.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    )
    queries: list[tuple[ListQuery, Callable[[dict[str, Any]], ListQuery] | None]] = [
        otp("GET /otp/failover, no filter", ""),
        otp("GET /otp/failover, status=Delivered (step)", "status=Delivered"),
        otp("GET /otp/failover, status=Failed (flow)", "status=Failed"),
        otp("GET /otp/failover, status=Sent (rare)", "status=Sent"),
        otp("GET /otp/failover, tag=pay (partial)", "tag=pay"),
        otp("GET /otp/failover, phone_number=45678 (partial, rare)", "phone_number=45678"),
        otp("GET /otp/failover, phone_number=123 (partial, common)", "phone_number=123"),
        otp(f"GET /otp/failover, phone_number={phone} (whole)", f"phone_number={phone}"),
        (
            ListQuery(
                "GET /otp/failover, flow_id", "GET", f"/otp/failover?flow_id={any_flow}&limit=50"
            ),
            None,
        ),
        tracking("POST /failover/tracking, no filter", []),
        tracking("POST /failover/tracking, date range 1 day", [], one_day),
        tracking("POST /failover/tracking, date range 7 days", [], week),
        tracking(
            "POST /failover/tracking, to contains 45678",
            [{"fieldName": "to", "searchOperator": "contains", "searchTerm": "45678"}],
        ),
        tracking(
            "POST /failover/tracking, to starts_with 3069123",
            [{"fieldName": "to", "searchOperator": "starts_with", "searchTerm": "+3069123"}],
        ),
        tracking(
            "POST /failover/tracking, to ends_with 5678",
            [{"fieldName": "to", "searchOperator": "ends_with", "searchTerm": "5678"}],
        ),
        tracking(
            "POST /failover/tracking, to is <number>",
            [{"fieldName": "to", "searchOperator": "is", "searchTerm": "+" + phone}],
        ),
        tracking(
            "POST /failover/tracking, status is Failed",
            [{"fieldName": "status", "searchOperator": "is", "searchTerm": "Failed"}],
        ),
        tracking(
            "POST /failover/tracking, status is_not Succeeded",
            [{"fieldName": "status", "searchOperator": "is_not", "searchTerm": "Succeeded"}],
        ),
        tracking(
            "POST /failover/tracking, status is InProgress",
            [{"fieldName": "status", "searchOperator": "is", "searchTerm": "InProgress"}],
        ),
        tracking(
            "POST /failover/tracking, type is Sms",
            [{"fieldName": "type", "searchOperator": "is", "searchTerm": "Sms"}],
        ),
        tracking(
            "POST /failover/tracking, type is_not Sms",
            [{"fieldName": "type", "searchOperator": "is_not", "searchTerm": "Sms"}],
        ),
        tracking(
            "POST /failover/tracking, terminationChannel is Sms",
            [{"fieldName": "terminationChannel", "searchOperator": "is", "searchTerm": "Sms"}],
        ),
        tracking(
            "POST /failover/tracking, status is Failed + type is Sms + 7 days",
            [
                {"fieldName": "status", "searchOperator": "is", "searchTerm": "Failed"},
                {"fieldName": "type", "searchOperator": "is", "searchTerm": "Sms"},
            ],
            week,
        ),
    ]
    return queries


async def _timed_requests(
    url: str, headers: dict[str, str], request: Request, repeats: int
) -> tuple[list[float], int, Any]:
    """``repeats`` sequential calls after one warm-up: latencies (ms), errors, last body."""
    latencies: list[float] = []
    errors = 0
    body: Any = None
    budget_end = time.perf_counter() + LIST_BUDGET_S
    async with Client(url, headers, limit=1, timeout=LIST_TIMEOUT_S) as client:
        for i in range(repeats + 1):
            if len(latencies) >= LIST_MIN_SAMPLES and time.perf_counter() > budget_end:
                break  # a slow query: enough samples to place its p95, the run goes on
            started = time.perf_counter()
            try:
                status, raw = await client.call(request)
            except (TimeoutError, aiohttp.ClientError) as exc:
                errors += 1
                body = f"{type(exc).__name__} after {time.perf_counter() - started:.0f} s"
                if i == 0:
                    break  # far too slow: one warm-up failure is the verdict
                continue
            elapsed = (time.perf_counter() - started) * 1000.0
            if status != 200:
                errors += 1
                body = raw[:300]
                continue
            if i > 0:
                latencies.append(elapsed)
            body = json.loads(raw)
    return latencies, errors, body


def bench_list(
    ctx: Context, also: Callable[[str, Service, str, datetime], None] | None = None
) -> None:
    """``also``: more measurements on the seeded database (the dashboard's views) with the
    service, a stored flow's id and a day with flows."""
    options = ctx.options
    now = datetime.now(UTC)
    created_from = now - timedelta(days=90)
    for kind in options.databases:
        db = _open_db(ctx, kind, "list")
        if db is None:
            continue
        print(f"- list/search over {options.list_flows:,} flows on {kind} ({db.note})", flush=True)
        with _service(ctx, db, time_scale=120, name="templates") as service:
            templates = create_templates(service, TEMPLATE_MIX)
            app_id, secret = service.app_id, service.app_secret
        plan = SeedPlan(
            templates,
            options.list_flows,
            created_from,
            now - timedelta(minutes=5),
            due_from=now + timedelta(days=30),
        )
        seeded = seed(kind, db.url, plan)
        print(f"    seeded {seeded}", flush=True)
        ctx.results.extra.setdefault("seeding", {})[kind] = seeded
        workdir = ctx.scratch / f"list-{kind}"
        workdir.mkdir(exist_ok=True)
        service = Service(db.url, workdir, app_id=app_id, app_secret=secret)
        service.start()
        try:
            assert service.process is not None
            pid = service.process.pid
            n = options.list_flows // 2
            queries = _list_queries(
                app_id, clone_id(plan.run, n), clone_phone(n), now - timedelta(days=45)
            )
            ceiling = _list_ceiling(ctx)
            for first, make_last in queries:
                _quiet(ctx, [pid])
                latencies, errors, body = loadgen.run(
                    _timed_requests(
                        service.url, service.auth, first.request(), options.list_repeats
                    )
                )
                _list_figure(ctx, kind, first.name, latencies, errors, body, ceiling)
                if make_last is None or errors or not isinstance(body, dict):
                    continue
                last = make_last(body)
                latencies, errors, last_body = loadgen.run(
                    _timed_requests(service.url, service.auth, last.request(), options.list_repeats)
                )
                _list_figure(ctx, kind, last.name, latencies, errors, last_body, ceiling)
            if also is not None:
                _quiet(ctx, [pid])
                # A flow the service made: the clones' ids share their first 8 characters.
                also(kind, service, templates[0].flow_id, now - timedelta(days=45))
        finally:
            service.stop()
        ctx.databases.drop(db)


def _list_ceiling(ctx: Context) -> float:
    key = "GET sequential (1 connection)"
    if key not in ctx.ceiling_cache:
        url = ctx.ceiling_url()
        latencies, _, _ = loadgen.run(_timed_requests(url, {}, _get_root(0), 200))
        result = LoadResult("closed", 1, None, 1.0, len(latencies), 0, latencies)
        ctx.ceiling_cache[key] = result
        ctx.results.extra.setdefault("ceilings", {})[key] = result.summary()
    return ctx.ceiling_cache[key].percentile(95)


def _list_figure(
    ctx: Context,
    kind: str,
    name: str,
    latencies: list[float],
    errors: int,
    body: Any,
    ceiling: float,
) -> None:
    p95 = loadgen.percentile(latencies, 95)
    total = None
    if isinstance(body, dict):
        total = body.get("total", body.get("totalElements"))
    ok = errors == 0 and bool(latencies) and p95 <= LIST_P95_TARGET_MS
    ctx.results.add(
        Figure(
            "list",
            kind,
            name,
            p95,
            "ms p95",
            f"<= {LIST_P95_TARGET_MS:.0f}",
            ok,
            ceiling=round(ceiling, 3),
            ratio=_ratio(p95, ceiling),
            note=f"p50 {loadgen.percentile(latencies, 50):.1f} ms, {total} matches"
            + (f", {errors} errors: {body!r}" if errors else ""),
            detail={
                "p50_ms": round(loadgen.percentile(latencies, 50), 2),
                "max_ms": round(max(latencies, default=0.0), 2),
                "matches": total,
                "errors": errors,
            },
        )
    )


# --------------------------------------------------------------------------- 4 + 5: timing, RSS


def bench_timing(ctx: Context, run_timing: bool, run_memory: bool) -> None:
    """``timing_flows`` flows whose Viber ttl runs out within one minute (their deadlines spread
    evenly over 60 s): how late each SMS failover goes out. Run twice per database: alone, then
    with ``timing_pending`` more flows pending (deadlines a day away), whose run also gives the
    memory figure.

    The flows are clones of one real pending flow (Viber sent, no report; the sandbox's digit
    1), written in bulk while the service runs, so the minute measures the failover worker and
    nothing else. At each deadline the service looks the Viber message up (the sandbox does not
    know a clone's message, so nothing is found), expires the step and sends the SMS.
    """
    options = ctx.options
    for kind in options.databases:
        db = _open_db(ctx, kind, "timing")
        if db is None:
            continue
        print(f"- failover timing on {kind} ({db.note})", flush=True)
        with _service(ctx, db, time_scale=120, name="templates") as service:
            templates = create_templates(service, PENDING_ONLY)
            app = (service.app_id, service.app_secret)
        rounds = ([0] if run_timing else []) + [options.timing_pending]
        for round_no, pending in enumerate(rounds):
            if pending:
                now = datetime.now(UTC)
                plan = SeedPlan(
                    templates,
                    pending,
                    now - timedelta(hours=1),
                    now,
                    due_from=now + timedelta(days=1),
                    run=10 + round_no,
                    due_spacing=0.5,
                )
                seeded = seed(kind, db.url, plan, rollups=False)
                print(f"    seeded {pending:,} pending flows: {seeded}", flush=True)
            workdir = ctx.scratch / f"timing-{kind}-{round_no}"
            workdir.mkdir(exist_ok=True)
            service = Service(db.url, workdir, app_id=app[0], app_secret=app[1])
            service.start()
            try:
                _timing_round(
                    ctx, db, service, templates, pending, 20 + round_no, run_timing, run_memory
                )
            finally:
                service.stop()
        ctx.databases.drop(db)


def _timing_round(
    ctx: Context,
    db: BenchDatabase,
    service: Service,
    templates: list[Template],
    pending: int,
    run: int,
    run_timing: bool,
    run_memory: bool,
) -> None:
    options = ctx.options
    kind = db.kind
    assert service.process is not None
    pid = service.process.pid
    count = options.timing_flows
    label = f"{count:,} flows" + (f" + {pending:,} pending" if pending else "")
    _drain(service.url, pid)
    rss_start = service.process.rss_mb()
    window = 60.0
    lead = 8.0
    accepted = {"channel": "sms", "result": "accepted"}
    sms_before = service.metric("fotp_provider_sends_total", accepted)
    now = datetime.now(UTC)
    plan = SeedPlan(
        templates,
        count,
        now - timedelta(minutes=2),
        now,
        due_from=now + timedelta(seconds=lead),
        run=run,
        due_spacing=window / count,
        last_digit=1,
    )
    # Pending clones: nothing of theirs is in the stored rollups.
    seed(kind, db.url, plan, live=True, rollups=False)
    prefix = clone_id(run, 0)[:8] + "-%"
    due_rows = _query(
        db,
        "SELECT flow_id, due_at FROM deadlines WHERE flow_id LIKE ?",
        "SELECT flow_id, due_at FROM deadlines WHERE flow_id LIKE $1",
        prefix,
    )
    due = {str(r["flow_id"]): _parse_time(r["due_at"]) for r in due_rows}
    first_due = min(due.values(), default=now)
    last_due = max(due.values(), default=now)
    if datetime.now(UTC) > first_due:
        print("    warning: seeding took longer than the lead time", flush=True)
    pids = [pid]
    before = monitor.sample(pids)
    rss_peak = service.process.rss_mb()
    while datetime.now(UTC) < last_due + timedelta(seconds=10):
        time.sleep(0.5)
        rss_peak = max(rss_peak, service.process.rss_mb())
    after = monitor.sample(pids)
    cpu = monitor.usage(before, after, {pid: "server"})
    sms_rows = _query(
        db,
        "SELECT flow_id, created_at, sent_at FROM steps WHERE idx = 1 AND flow_id LIKE ?",
        "SELECT flow_id, created_at, sent_at FROM steps WHERE idx = 1 AND flow_id LIKE $1",
        prefix,
    )
    sms = {str(r["flow_id"]): r for r in sms_rows}
    lateness: list[float] = []
    decided: list[float] = []
    missed = 0
    for flow_id, due_at in due.items():
        row = sms.get(flow_id)
        if row is None or row["sent_at"] is None:
            missed += 1
            continue
        lateness.append((_parse_time(row["sent_at"]) - due_at).total_seconds() * 1000.0)
        decided.append((_parse_time(row["created_at"]) - due_at).total_seconds() * 1000.0)
    # Doubled: SMS the provider accepted beyond one per flow, counted once the service is idle
    # (a send accepted while its save still queued is not a double).
    _drain(service.url, pid)
    sms_sent = service.metric("fotp_provider_sends_total", accepted) - sms_before
    sent_rows = _query(
        db,
        "SELECT count(*) AS n FROM steps WHERE idx = 1 AND sent_at IS NOT NULL AND flow_id LIKE ?",
        "SELECT count(*) AS n FROM steps WHERE idx = 1 AND sent_at IS NOT NULL AND flow_id LIKE $1",
        prefix,
    )
    doubled = max(0, int(sms_sent) - int(sent_rows[0]["n"]))
    p99 = loadgen.percentile(lateness, 99)
    detail = {
        "flows": len(due),
        "deadline_window_s": round((last_due - first_due).total_seconds(), 1),
        "p50_ms": round(loadgen.percentile(lateness, 50), 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(max(lateness, default=0.0), 1),
        "min_ms": round(min(lateness, default=0.0), 1),
        "decision_p99_ms": round(loadgen.percentile(decided, 99), 1),
        "missed": missed,
        "sms_sends": int(sms_sent),
        "doubled": doubled,
        "cores": cpu,
        "rss_start_mb": round(rss_start, 1),
        "rss_peak_mb": round(rss_peak, 1),
    }
    if run_timing:
        ok = p99 <= LATENESS_P99_TARGET_MS and missed == 0 and doubled == 0 and len(due) > 0
        ctx.results.add(
            Figure(
                "timing",
                kind,
                f"SMS lateness p99, {label}",
                p99,
                "ms",
                f"<= {LATENESS_P99_TARGET_MS:.0f}, 0 missed, 0 doubled",
                ok,
                note=f"p50 {detail['p50_ms']} ms, max {detail['max_ms']} ms, "
                f"{len(due):,} deadlines over {detail['deadline_window_s']:.0f} s, "
                f"missed {missed}, doubled {doubled}",
                detail=detail,
            )
        )
    if pending and run_memory:
        ctx.results.add(
            _rss_figure(
                kind,
                f"RSS peak, {pending:,} pending + {count:,} failing over",
                rss_peak,
                {"rss_start_mb": round(rss_start, 1), "timing": detail},
            )
        )


def _rss_figure(kind: str, name: str, value: float, detail: dict[str, Any] | None = None) -> Figure:
    return Figure(
        "memory",
        kind,
        name,
        value,
        "MB",
        f"<= {RSS_TARGET_MB:.0f}",
        value <= RSS_TARGET_MB,
        detail=detail or {},
    )


def _db_time(kind: str, moment: datetime) -> Any:
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    if kind == "sqlite":
        return naive.strftime("%Y-%m-%d %H:%M:%S.%f")
    return naive
