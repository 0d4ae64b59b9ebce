"""Benchmarks 1 and 2: ``POST /otp/send-failover`` and ``GET /otp/failover/{id}``.

On each database, back to back in the same run and under the same load generator:

1. the reference app (``benchmarks/reference``) against the standalone Routee sandbox;
2. the product in its production shape: ``serve --provider routee`` against the same sandbox,
   every figure reported beside the ceiling and, for the closed loops, as a ratio to (1);
3. the product with its embedded sandbox (``--provider sandbox``), a separate labelled row;
4. overload: the production shape offered 3x the send rate it sustained in (2), with
   ``FOTP_LIMIT_CONCURRENCY`` set as docs/deployment.md advises.

Sends go to distinct numbers. The headline phases use numbers ending in 1 with a one-hour Viber
ttl: nothing else happens to those flows during the run, so the figure is the cost of the send
itself. A further phase uses numbers ending in 0, whose Viber message is delivered after 1 s and
seen after 3 s: two delivery reports per flow land while the load runs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from benchmarks import loadgen
from benchmarks.harness import REFERENCE_TOKEN, BenchDatabase, reference_process, routee_env
from benchmarks.loadgen import LoadResult, Request
from benchmarks.results import Figure
from benchmarks.suites import (
    GET_OPEN_RATE,
    GET_P99_TARGET_MS,
    GET_RATE_TARGET,
    SEND_OPEN_RATE,
    SEND_P99_TARGET_MS,
    SEND_RATE_TARGET,
    Context,
    Measured,
    _below_saturation,
    _ceiling,
    _closed,
    _fill,
    _get_root,
    _open,
    _open_db,
    _p99_figure,
    _rate_figure,
    _sample_ids,
    _service,
    cpu_ms_per_request,
)
from benchmarks.workload import SEND_PATH, Bodies

OVERLOAD_FACTOR = 3.0
OVERLOAD_ANSWER_MS = 2_000.0
# docs/deployment.md's example values for FOTP_LIMIT_CONCURRENCY and FOTP_LIMIT_LOOP_LAG_MS.
OVERLOAD_LIMIT = 256
OVERLOAD_LOOP_LAG_MS = 50
CLOSED = "throughput, closed loop 64 connections"
# The throughput rows measure capacity: requests wait for the database as long as they must
# (the reference has no such limit either). Shedding at the production default (2 s, then
# 503 + Retry-After) is what the overload row measures.
CAPACITY_ENV = {"FOTP_DB_POOL_TIMEOUT_SECONDS": "60"}


@dataclass
class Loads:
    """The request factories and ceilings every configuration of a run shares."""

    post: loadgen.RequestFactory
    post_reported: loadgen.RequestFactory
    ceilings: dict[str, LoadResult] = field(default_factory=dict)


def bench_send_and_get(ctx: Context, run_send: bool, run_get: bool) -> None:
    pending = Bodies(1, viber_ttl=3_600, salt=random.randrange(1_000_000))
    delivered = Bodies(0, salt=random.randrange(1_000_000))
    loads = Loads(
        post=lambda i: Request("POST", SEND_PATH, pending(i)),
        post_reported=lambda i: Request("POST", SEND_PATH, delivered(i)),
    )
    shapes = {
        "POST closed 64": lambda url, pid: _closed(ctx, url, {}, loads.post, pid),
        f"POST open {SEND_OPEN_RATE:.0f}/s": lambda url, pid: _open(
            ctx, url, {}, loads.post, pid, SEND_OPEN_RATE
        ),
        "GET closed 64": lambda url, pid: _closed(ctx, url, {}, _get_root, pid),
        f"GET open {GET_OPEN_RATE:.0f}/s": lambda url, pid: _open(
            ctx, url, {}, _get_root, pid, GET_OPEN_RATE
        ),
    }
    for key, measure in shapes.items():
        if (run_send and key.startswith("POST")) or (run_get and key.startswith("GET")):
            loads.ceilings[key] = _ceiling(ctx, key, measure)
    for kind in ctx.options.databases:
        routee_url = ctx.sandbox_url()
        reference = _reference(ctx, kind, routee_url, loads, run_get)
        if reference is None:
            continue
        sustained = _product(ctx, kind, loads, reference, run_send, run_get, routee_url)
        _embedded(ctx, kind, loads, reference, run_send, run_get)
        if run_send and sustained:
            _overload(ctx, kind, loads, routee_url, sustained)


def _reference(
    ctx: Context, kind: str, routee_url: str, loads: Loads, run_get: bool
) -> dict[str, Measured] | None:
    """The reference app's closed-loop send and read figures (rows of their own)."""
    db = _open_db(ctx, kind, "reference")
    if db is None:
        return None
    workdir = ctx.scratch / f"reference-{kind}"
    workdir.mkdir(exist_ok=True)
    auth = {"Authorization": f"Bearer {REFERENCE_TOKEN}"}
    measured: dict[str, Measured] = {}
    print(f"- reference app on {kind}", flush=True)
    with reference_process(workdir, db.url, routee_url) as ref:
        # Sends run whenever reads do: the reads need stored flows.
        measured["send"] = _closed(ctx, ref.url, auth, loads.post, ref.pid)
        if run_get:
            get = _get_factory(db)
            measured["get"] = _closed(ctx, ref.url, auth, get, ref.pid)
    for path, m in measured.items():
        ctx.results.add(
            Figure(
                path,
                kind,
                f"reference app: {CLOSED}",
                m.load.rate,
                "flows/s" if path == "send" else "req/s",
                note=f"errors {m.load.errors}, p50 {m.load.percentile(50):.1f} ms, "
                f"p99 {m.load.percentile(99):.1f} ms, "
                f"service {m.cpu.get('server', 0):.2f} cores, "
                f"CPU {cpu_ms_per_request(m):.2f} ms/request",
                detail=m.detail(),
            )
        )
    ctx.databases.drop(db)
    return measured


def _get_factory(db: BenchDatabase) -> loadgen.RequestFactory:
    ids = _sample_ids(db, 20_000)
    if not ids:
        raise RuntimeError(f"no flows to read in {db.note}")

    def get(i: int) -> Request:
        return Request("GET", f"/otp/failover/{ids[i % len(ids)]}")

    return get


def _product(
    ctx: Context,
    kind: str,
    loads: Loads,
    reference: dict[str, Measured],
    run_send: bool,
    run_get: bool,
    routee_url: str,
) -> float:
    """Every send and read phase of the production shape; returns the sustained send rate."""
    db = _open_db(ctx, kind, "send")
    assert db is not None  # the reference just had one
    print(f"- send/get on {kind}, serve --provider routee ({db.note})", flush=True)
    sustained = 0.0
    env = {**routee_env(routee_url), **CAPACITY_ENV}
    with _service(ctx, db, extra_env=env, name="serve-routee") as service:
        assert service.process is not None
        pid = service.process.pid
        rss_start = service.process.rss_mb()
        sent = 0
        ceilings = loads.ceilings
        if run_send:
            closed = _closed(ctx, service.url, service.auth, loads.post, pid)
            sent += closed.load.completed
            sustained = closed.load.rate
            ctx.results.add(
                _rate_figure(
                    "send",
                    kind,
                    f"{CLOSED} (send only)",
                    closed,
                    "flows/s",
                    SEND_RATE_TARGET,
                    ceilings["POST closed 64"],
                    reference["send"],
                )
            )
            sent += _below_saturation(
                ctx, service, loads.post, pid, closed, "send", kind, "flows/s"
            )
            opened = _open(ctx, service.url, service.auth, loads.post, pid, SEND_OPEN_RATE)
            sent += opened.load.completed
            ctx.results.add(
                _p99_figure(
                    "send",
                    kind,
                    f"p99 latency, open loop {SEND_OPEN_RATE:.0f} flows/s",
                    opened,
                    SEND_P99_TARGET_MS,
                    ceilings[f"POST open {SEND_OPEN_RATE:.0f}/s"],
                )
            )
            reported = _closed(ctx, service.url, service.auth, loads.post_reported, pid)
            sent += reported.load.completed
            ctx.results.add(
                _rate_figure(
                    "send",
                    kind,
                    f"{CLOSED}, with 2 delivery reports/flow",
                    reported,
                    "flows/s",
                    SEND_RATE_TARGET,
                    ceilings["POST closed 64"],
                )
            )
            errors = closed.load.errors + opened.load.errors + reported.load.errors
            ctx.results.add(
                Figure("send", kind, "errors (all phases)", errors, "", "= 0", errors == 0)
            )
        if run_get:
            if len(_sample_ids(db, 1_000)) < 1_000:
                _fill(ctx, service, loads.post_reported, 2_000)
            get = _get_factory(db)
            closed = _closed(ctx, service.url, service.auth, get, pid)
            ctx.results.add(
                _rate_figure(
                    "get",
                    kind,
                    CLOSED,
                    closed,
                    "req/s",
                    GET_RATE_TARGET,
                    ceilings["GET closed 64"],
                    reference.get("get"),
                )
            )
            _below_saturation(ctx, service, get, pid, closed, "get", kind, "req/s")
            opened = _open(ctx, service.url, service.auth, get, pid, GET_OPEN_RATE)
            ctx.results.add(
                _p99_figure(
                    "get",
                    kind,
                    f"p99 latency, open loop {GET_OPEN_RATE:,.0f} req/s",
                    opened,
                    GET_P99_TARGET_MS,
                    ceilings[f"GET open {GET_OPEN_RATE:.0f}/s"],
                )
            )
        ctx.results.extra.setdefault("rss_after_send_get", {})[kind] = {
            "start_mb": round(rss_start, 1),
            "end_mb": round(service.process.rss_mb(), 1),
            "flows_sent": sent,
        }
    ctx.databases.drop(db)
    return sustained


def _embedded(
    ctx: Context,
    kind: str,
    loads: Loads,
    reference: dict[str, Measured],
    run_send: bool,
    run_get: bool,
) -> None:
    """The closed loops again with the embedded sandbox (no HTTP hop to the provider)."""
    db = _open_db(ctx, kind, "send-embedded")
    assert db is not None
    print(f"- send/get on {kind}, serve with the embedded sandbox", flush=True)
    with _service(ctx, db, extra_env=CAPACITY_ENV, name="serve-embedded") as service:
        assert service.process is not None
        pid = service.process.pid
        send = _closed(ctx, service.url, service.auth, loads.post, pid)
        if run_send:
            ctx.results.add(
                _rate_figure(
                    "send",
                    kind,
                    f"embedded sandbox: {CLOSED} (send only)",
                    send,
                    "flows/s",
                    SEND_RATE_TARGET,
                    loads.ceilings["POST closed 64"],
                    reference["send"],
                )
            )
        if run_get:
            get = _closed(ctx, service.url, service.auth, _get_factory(db), pid)
            ctx.results.add(
                _rate_figure(
                    "get",
                    kind,
                    f"embedded sandbox: {CLOSED}",
                    get,
                    "req/s",
                    GET_RATE_TARGET,
                    loads.ceilings["GET closed 64"],
                    reference.get("get"),
                )
            )
    ctx.databases.drop(db)


def _overload(ctx: Context, kind: str, loads: Loads, routee_url: str, sustained: float) -> None:
    """Offered 3x what the process sustained: every request must be answered within 2 s, with
    200 or 503 + Retry-After (issue 14) — never a 500, never a long queue."""
    db = _open_db(ctx, kind, "overload")
    assert db is not None
    env = {
        **routee_env(routee_url),
        "FOTP_LIMIT_CONCURRENCY": str(OVERLOAD_LIMIT),
        "FOTP_LIMIT_LOOP_LAG_MS": str(OVERLOAD_LOOP_LAG_MS),
    }
    rate = round(OVERLOAD_FACTOR * sustained)
    print(f"- overload on {kind}: {rate} flows/s offered", flush=True)
    with _service(ctx, db, extra_env=env, name="serve-overload") as service:
        assert service.process is not None
        measured = _open(ctx, service.url, service.auth, loads.post, service.process.pid, rate)
    ctx.databases.drop(db)
    load = measured.load
    slowest = max(load.answered_ms, default=0.0)
    answered = sum(load.statuses.values())
    unanswered = load.errors - sum(n for s, n in load.statuses.items() if not 200 <= s < 300)
    unexpected = {s: n for s, n in load.statuses.items() if s not in (200, 503)}
    ok = (
        slowest <= OVERLOAD_ANSWER_MS
        and unanswered == 0
        and not unexpected
        and load.unavailable_without_retry_after == 0
    )
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(load.statuses.items()))
    ctx.results.add(
        Figure(
            "send",
            kind,
            f"overload: slowest answer, open loop at {OVERLOAD_FACTOR:.0f}x the sustained rate "
            f"({rate:,} flows/s), FOTP_LIMIT_CONCURRENCY={OVERLOAD_LIMIT}, "
            f"FOTP_LIMIT_LOOP_LAG_MS={OVERLOAD_LOOP_LAG_MS}",
            slowest,
            "ms",
            f"<= {OVERLOAD_ANSWER_MS:,.0f}, only 200 or 503 + Retry-After",
            ok,
            note=f"answered {answered} ({statuses}), unanswered {unanswered}, "
            f"503 without Retry-After {load.unavailable_without_retry_after}, "
            f"achieved {load.rate:.0f}/s, "
            f"p99 of answers {loadgen.percentile(load.answered_ms, 99):.0f} ms",
            detail=measured.detail(),
        )
    )
