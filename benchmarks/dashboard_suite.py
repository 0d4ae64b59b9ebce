"""6. ``dashboard``: the operator dashboard's views over stored flows, and sends beside it.

- Each view a signed-in operator opens or the page refreshes (the page, the table with each kind
  of filter, a date range, a jump to a date, the tiles, the charts' numbers, a flow's page),
  timed like the list benchmark against its target (p95 <= 50 ms), at 5,000 flows here and, when
  ``list`` runs too, at its size (1,000,000 flows in a full run) on the database it seeded.
- Sends and ``/health`` beside eight open dashboards, each refreshing a filtered table every
  2 s as the page does: a dashboard filter must not hold up the service (issue 17;
  docs/operations.md#the-dashboard).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import cycle

import aiohttp

from benchmarks import loadgen
from benchmarks.harness import Service
from benchmarks.loadgen import Client, Request
from benchmarks.results import Figure, Results
from benchmarks.seed import SeedPlan, seed
from benchmarks.suites import Context, _open_db, _quiet, _service
from benchmarks.workload import SEND_PATH, TEMPLATE_MIX, Bodies, create_templates

VIEW_P95_TARGET_MS = 50.0  # the list/search target (docs/benchmarks.md)
SEND_P99_TARGET_MS = 50.0
HEALTH_P99_TARGET_MS = 20.0
VIEW_TIMEOUT_S = 60.0
VIEW_BUDGET_S = 8.0
VIEW_MIN_SAMPLES = 5
TABS = 8  # dashboards open during the send measurement, each refreshing every REFRESH_S
REFRESH_S = 2.0  # the table's refresh interval (web/dashboard/routes.py REFRESH_MS)

# Called by bench_list with (database kind, the running service, a stored flow id, a day).
ListHook = Callable[[str, Service, str, datetime], None]


async def sign_in(base_url: str, app_id: str, secret: str) -> dict[str, str]:
    """The session cookie of a dashboard sign-in, as a request header."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            base_url + "/dashboard/login",
            data={"application_id": app_id, "application_secret": secret},
            allow_redirects=False,
        ) as response,
    ):
        if response.status != 303 or "fotp_dashboard" not in response.cookies:
            raise RuntimeError(f"dashboard sign-in failed: {response.status}")
        return {"Cookie": f"fotp_dashboard={response.cookies['fotp_dashboard'].value}"}


def views(any_flow: str, day: datetime) -> list[tuple[str, str]]:
    """(name, path) of every view measured. ``day`` is one with flows, ``any_flow`` the id of a
    flow the service made (a random UUID: its first 8 characters find it alone)."""
    date = day.strftime("%Y-%m-%d")
    return [
        ("page /dashboard (table, tiles, 7 days)", "/dashboard"),
        ("table, no filter", "/dashboard/flows"),
        ("table, a step Delivered", "/dashboard/flows?status=step:DELIVERED"),
        ("table, a step Failed", "/dashboard/flows?status=step:FAILED"),
        ("table, flow Failed", "/dashboard/flows?status=flow:Failed"),
        ("table, tag pay (partial)", "/dashboard/flows?tag=pay"),
        ("table, phone 45678 (partial)", "/dashboard/flows?phone=45678"),
        ("table, the id's first 8 characters", f"/dashboard/flows?flow_id={any_flow[:8]}"),
        ("table, one day (date range)", f"/dashboard/flows?from={date}&to={date}"),
        ("table, jump to a date", f"/dashboard/flows?at={date}"),
        (
            "table, a step Failed + tag + one day",
            f"/dashboard/flows?status=step:FAILED&tag=kyc&from={date}&to={date}",
        ),
        ("tiles, 7 days", "/dashboard/tiles?period=7"),
        ("charts' numbers, 7 days", "/dashboard/stats.json?period=7"),
        ("charts' numbers, 90 days", "/dashboard/stats.json?period=90"),
        ("a flow's page", f"/dashboard/flows/{any_flow}"),
    ]


async def _timed(
    url: str, headers: dict[str, str], path: str, repeats: int
) -> tuple[list[float], int, str]:
    """``repeats`` sequential GETs after one warm-up: latencies (ms), errors, the last error."""
    latencies: list[float] = []
    errors, last_error = 0, ""
    budget_end = time.perf_counter() + VIEW_BUDGET_S
    async with Client(url, headers, limit=1, timeout=VIEW_TIMEOUT_S) as client:
        for i in range(repeats + 1):
            if len(latencies) >= VIEW_MIN_SAMPLES and time.perf_counter() > budget_end:
                break
            started = time.perf_counter()
            try:
                status, raw = await client.call(Request("GET", path))
            except (TimeoutError, aiohttp.ClientError) as exc:
                errors, last_error = errors + 1, type(exc).__name__
                if i == 0:
                    break
                continue
            if status != 200:
                errors, last_error = errors + 1, f"HTTP {status}: {raw[:200]!r}"
                continue
            if i > 0:
                latencies.append((time.perf_counter() - started) * 1000.0)
    return latencies, errors, last_error


def measure_views(
    results: Results,
    kind: str,
    service: Service,
    *,
    flows: int,
    any_flow: str,
    day: datetime,
    repeats: int,
) -> None:
    """Time every view of :func:`views`, one figure each."""
    cookie = loadgen.run(sign_in(service.url, service.app_id, service.app_secret))
    for name, path in views(any_flow, day):
        latencies, errors, last_error = loadgen.run(_timed(service.url, cookie, path, repeats))
        p95 = loadgen.percentile(latencies, 95)
        results.add(
            Figure(
                "dashboard",
                kind,
                f"{name} ({flows:,} flows)",
                p95,
                "ms p95",
                f"<= {VIEW_P95_TARGET_MS:.0f}",
                errors == 0 and bool(latencies) and p95 <= VIEW_P95_TARGET_MS,
                note=f"p50 {loadgen.percentile(latencies, 50):.1f} ms"
                + (f", {errors} errors: {last_error}" if errors else ""),
                detail={"path": path, "samples": len(latencies), "errors": errors},
            )
        )


async def _beside_dashboards(
    service: Service, cookie: dict[str, str], day: datetime, duration: float, tabs: int = TABS
) -> tuple[list[float], list[float], int, int]:
    """Sends and /health one at a time while ``TABS`` open dashboards refresh filtered tables
    (each every ``REFRESH_S``, as the page does, but with its own filter and never backing off):
    (send latencies, health latencies, dashboard answers, errors)."""
    date = day.strftime("%Y-%m-%d")
    filters = cycle(
        [
            "/dashboard/flows?status=step:DELIVERED",
            "/dashboard/flows?tag=pay",
            "/dashboard/flows?status=step:FAILED",
            f"/dashboard/flows?at={date}",
            "/dashboard/stats.json?period=7",
        ]
    )
    stop_at = asyncio.get_running_loop().time() + duration
    bodies = Bodies(0, salt=int(time.time()) % 1_000_000)
    sends: list[float] = []
    health: list[float] = []
    answered = errors = 0

    async def tab(client: Client, n: int) -> None:
        nonlocal answered, errors
        await asyncio.sleep(n * REFRESH_S / tabs)  # the tabs were opened at different times
        while asyncio.get_running_loop().time() < stop_at:
            status, _ = await client.call(Request("GET", next(filters)))
            answered, errors = answered + (status == 200), errors + (status != 200)
            await asyncio.sleep(REFRESH_S)

    async def probe(client: Client) -> None:
        nonlocal errors
        i = 0
        while asyncio.get_running_loop().time() < stop_at:
            for request, into in (
                (Request("POST", SEND_PATH, bodies(i)), sends),
                (Request("GET", "/health"), health),
            ):
                started = time.perf_counter()
                status, _ = await client.call(request)
                if status == 200:
                    into.append((time.perf_counter() - started) * 1000.0)
                else:
                    errors += 1
            i += 1
            await asyncio.sleep(0.05)  # a steady trickle of sends, not a load test

    async with (
        Client(service.url, cookie, limit=max(1, tabs), timeout=VIEW_TIMEOUT_S) as browsers,
        Client(service.url, service.auth, limit=1, timeout=VIEW_TIMEOUT_S) as api,
    ):
        await asyncio.gather(probe(api), *(tab(browsers, n) for n in range(tabs)))
    return sends, health, answered, errors


def measure_beside_dashboards(
    results: Results, kind: str, service: Service, *, flows: int, day: datetime, duration: float
) -> None:
    cookie = loadgen.run(sign_in(service.url, service.app_id, service.app_secret))
    # The same sends and health checks with no dashboard open first: the figure to compare to
    # on a machine whose speed the run does not control.
    alone_sends, alone_health, _, _ = loadgen.run(
        _beside_dashboards(service, cookie, day, duration / 2, tabs=0)
    )
    sends, health, answered, errors = loadgen.run(
        _beside_dashboards(service, cookie, day, duration)
    )
    note = f"{answered} dashboard answers meanwhile" + (f", {errors} errors" if errors else "")
    for name, values, alone, target in (
        ("POST /otp/send-failover", sends, alone_sends, SEND_P99_TARGET_MS),
        ("GET /health", health, alone_health, HEALTH_P99_TARGET_MS),
    ):
        p99 = loadgen.percentile(values, 99)
        without = loadgen.percentile(alone, 99)
        results.add(
            Figure(
                "dashboard",
                kind,
                f"{name} beside {TABS} open dashboards ({flows:,} flows)",
                p99,
                "ms p99",
                f"<= {target:.0f}",
                errors == 0 and bool(values) and p99 <= target,
                ceiling=round(without, 2),
                ratio=p99 / without if without else None,
                note=f"p50 {loadgen.percentile(values, 50):.1f} ms, {len(values)} calls; "
                f"ceiling: the same calls with no dashboard open; {note}",
                detail={"samples": len(values), "dashboard_answers": answered, "errors": errors},
            )
        )


def bench_dashboard(ctx: Context) -> None:
    """The views at ``ctx.options.dashboard_flows`` flows, then sends beside open dashboards."""
    options = ctx.options
    now = datetime.now(UTC)
    for kind in options.databases:
        db = _open_db(ctx, kind, "dashboard")
        if db is None:
            continue
        count = options.dashboard_flows
        print(f"- dashboard over {count:,} flows on {kind} ({db.note})", flush=True)
        with _service(ctx, db, time_scale=120, name="dashboard-templates") as service:
            templates = create_templates(service, TEMPLATE_MIX)
            app_id, secret = service.app_id, service.app_secret
        plan = SeedPlan(
            templates,
            count,
            now - timedelta(days=30),
            now - timedelta(minutes=5),
            due_from=now + timedelta(days=30),
        )
        seed(kind, db.url, plan)
        workdir = ctx.scratch / f"dashboard-{kind}"
        workdir.mkdir(exist_ok=True)
        service = Service(db.url, workdir, app_id=app_id, app_secret=secret)
        service.start()
        try:
            assert service.process is not None
            day = now - timedelta(days=15)
            _quiet(ctx, [service.process.pid])
            measure_views(
                ctx.results,
                kind,
                service,
                flows=count,
                # A flow the service made (the clones' ids share their first 8 characters).
                any_flow=templates[0].flow_id,
                day=day,
                repeats=options.list_repeats,
            )
            _quiet(ctx, [service.process.pid])
            measure_beside_dashboards(
                ctx.results, kind, service, flows=count, day=day, duration=options.duration
            )
        finally:
            service.stop()
        ctx.databases.drop(db)


def at_list_size(ctx: Context) -> ListHook:
    """What ``bench_list`` runs on the database it seeded (1,000,000 flows in a full run)."""

    def measure(kind: str, service: Service, any_flow: str, day: datetime) -> None:
        measure_views(
            ctx.results,
            kind,
            service,
            flows=ctx.options.list_flows,
            any_flow=any_flow,
            day=day,
            repeats=ctx.options.list_repeats,
        )

    return measure
