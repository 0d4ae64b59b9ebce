"""``python -m benchmarks.inprocess``: CPU per request of the service's own code, no sockets.

The ASGI app is called directly, one request at a time, on a fresh database with the embedded
sandbox: what a request costs the service itself, without the HTTP server, the load generator or
queueing. ``--profile FILE`` writes a cProfile of the measured calls (``--top`` prints the
packages and functions that take the most of it). docs/benchmarks.md quotes its figures.

    python -m benchmarks.inprocess send --db sqlite --calls 500
    python -m benchmarks.inprocess get --db postgres --profile artifacts/bench/get.prof --top 25
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import cProfile
import json
import os
import pstats
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvloop

from benchmarks.harness import BENCH_ENV, one_database, routee_env, sandbox_process
from benchmarks.workload import SEND_PATH, Bodies

Message = MutableMapping[str, Any]
App = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


async def call(
    app: App,
    method: str,
    path: str,
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
) -> tuple[int, bytes]:
    """One HTTP request through the ASGI app: (status, body)."""
    names = {k for k, _ in headers}
    base = [(b"host", b"bench")]
    if b"content-type" not in names:
        base.append((b"content-type", b"application/json"))
    scope: Message = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [*base, (b"content-length", str(len(body)).encode()), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        return {}

    status = 0
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def measure(load: str, database_url: str, calls: int, profile: Path | None) -> str:
    from failover_otp.cli.main import load_settings
    from failover_otp.store.migrate import upgrade
    from failover_otp.web.app import create_app

    await upgrade(database_url)
    settings = load_settings(database_url=database_url, run_worker=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        creds = await app.state.services.auth.create_application("inprocess")
        basic = base64.b64encode(
            f"{creds.application_id}:{creds.application_secret}".encode()
        ).decode()
        status, raw = await call(
            app,
            "POST",
            "/oauth/token",
            b"grant_type=client_credentials",
            [
                (b"authorization", f"Basic {basic}".encode()),
                (b"content-type", b"application/x-www-form-urlencoded"),
            ],
        )
        assert status == 200, raw
        auth = [(b"authorization", b"Bearer " + json.loads(raw)["access_token"].encode())]
        bodies = Bodies(1, viber_ttl=3_600, salt=os.getpid())
        flow_ids: list[str] = []
        for i in range(max(50, calls if load == "get" else 50)):
            status, raw = await call(app, "POST", SEND_PATH, bodies(i), auth)
            assert status == 200, raw
            flow_ids.append(json.loads(raw)["flowId"])
        offset = len(flow_ids)

        def request(i: int) -> tuple[str, str, bytes]:
            if load == "get":
                return "GET", f"/otp/failover/{flow_ids[i % len(flow_ids)]}", b""
            return "POST", SEND_PATH, bodies(offset + i)

        profiler = cProfile.Profile() if profile else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        errors = 0
        for i in range(calls):
            method, path, body = request(i)
            status, _ = await call(app, method, path, body, auth)
            errors += status != 200
        if profiler:
            profiler.disable()
            assert profile is not None
            profiler.dump_stats(str(profile))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return (
        f"{load}: {calls} calls, {1000 * wall / calls:.2f} ms wall and "
        f"{1000 * cpu / calls:.2f} ms CPU per call, {errors} errors"
        + (" (under cProfile: slower)" if profile else "")
    )


def top(profile: Path, limit: int) -> str:
    """Own time by package, then the functions with the most cumulative time."""
    stats = pstats.Stats(str(profile))
    by_package: collections.Counter[str] = collections.Counter()
    for (filename, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        if "site-packages/" in filename:
            package = filename.split("site-packages/")[1].split("/")[0]
        elif "failover_otp/" in filename:
            package = "failover_otp/" + filename.split("failover_otp/")[1]
        elif filename == "~":
            package = name  # a C function: sqlite3's commit, greenlet's switch...
        else:
            package = "stdlib"
        by_package[package] += own
    total = sum(by_package.values()) or 1.0
    lines = ["own time by package or C function:"]
    lines += [f"  {100 * t / total:5.1f}%  {p}" for p, t in by_package.most_common(limit)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inprocess")
    parser.add_argument("load", choices=("send", "get"))
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument(
        "--routee",
        action="store_true",
        help="the production shape: the Routee client against a standalone sandbox",
    )
    args = parser.parse_args()
    os.environ.update({**BENCH_ENV, "FOTP_RUN_WORKER": "false"})
    with one_database(args.db, "inprocess") as (scratch, db):
        os.environ["FOTP_DATA_DIR"] = str(scratch / "data")
        sandbox = sandbox_process(scratch).start() if args.routee else None
        try:
            if sandbox is not None:
                # Delivery reports go to the discard port: nothing in this process listens.
                os.environ.update(routee_env(sandbox.url))
                os.environ["FOTP_PUBLIC_URL"] = "http://127.0.0.1:9"
            print(uvloop.run(measure(args.load, db.url, args.calls, args.profile)))
        finally:
            if sandbox is not None:
                sandbox.stop()
    if args.profile and args.top:
        print(top(args.profile, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
