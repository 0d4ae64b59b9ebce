"""A small HTTP load generator: closed loop at N connections, open loop at a fixed offered rate.

Closed loop: N coroutines, each sends its next request as soon as the previous one answered;
the figure is the completed requests per second. Open loop: requests are started on a fixed
schedule (``i / rate`` seconds after the start) whatever the server does, and each latency is
measured from the request's *scheduled* start, so a stalled server cannot hide its queue
(no coordinated omission). Both warm up first and count only what completes inside the
measured window.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    body: bytes | None = None


# Builds the i-th request of a run.
RequestFactory = Callable[[int], Request]

JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass
class LoadResult:
    mode: str  # "closed" or "open"
    concurrency: int | None
    offered_rate: float | None
    duration: float
    completed: int
    errors: int
    latencies_ms: list[float] = field(repr=False, default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    # Open loop: how late the generator itself started requests (its own health check).
    max_start_lag_ms: float = 0.0
    # Open loop: time to any HTTP answer (200, 503, ...), for the overload benchmark.
    answered_ms: list[float] = field(repr=False, default_factory=list)
    # 503 answers without a Retry-After header.
    unavailable_without_retry_after: int = 0

    @property
    def rate(self) -> float:
        return self.completed / self.duration if self.duration else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies_ms, p)

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "concurrency": self.concurrency,
            "offered_rate": self.offered_rate,
            "duration_s": round(self.duration, 2),
            "completed": self.completed,
            "rate": round(self.rate, 1),
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "p50_ms": round(self.percentile(50), 2),
            "p90_ms": round(self.percentile(90), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "max_ms": round(max(self.latencies_ms, default=0.0), 2),
            "max_start_lag_ms": round(self.max_start_lag_ms, 2),
            "answered_max_ms": round(max(self.answered_ms, default=0.0), 2),
            "unavailable_without_retry_after": self.unavailable_without_retry_after,
            "error_samples": self.error_samples[:5],
        }


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of ``values``; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class Client:
    """One aiohttp session against ``base_url`` with the given default headers."""

    def __init__(
        self, base_url: str, headers: dict[str, str], *, limit: int, timeout: float = 60.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {**JSON_HEADERS, **headers}
        self.limit = limit
        self.timeout = timeout
        self.session: aiohttp.ClientSession | None = None
        self.unavailable_without_retry_after = 0

    async def __aenter__(self) -> Client:
        connector = aiohttp.TCPConnector(limit=self.limit, limit_per_host=self.limit)
        self.session = aiohttp.ClientSession(
            connector=connector,
            headers=self.headers,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.session is not None:
            await self.session.close()

    async def call(self, request: Request) -> tuple[int, bytes]:
        assert self.session is not None
        async with self.session.request(
            request.method, self.base_url + request.path, data=request.body
        ) as response:
            if response.status == 503 and "Retry-After" not in response.headers:
                self.unavailable_without_retry_after += 1
            return response.status, await response.read()


def _ok(status: int) -> bool:
    return 200 <= status < 300


async def closed_loop(
    client: Client,
    make: RequestFactory,
    *,
    connections: int,
    duration: float,
    warmup: float = 2.0,
) -> LoadResult:
    """``connections`` coroutines back to back for ``warmup + duration`` seconds."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + warmup
    stop_at = measure_from + duration
    result = LoadResult("closed", connections, None, duration, 0, 0)
    counter = iter(range(1 << 62))

    async def worker() -> None:
        while True:
            sent = loop.time()
            if sent >= stop_at:
                return
            request = make(next(counter))
            try:
                status, body = await client.call(request)
            except Exception as exc:
                done = loop.time()
                if measure_from <= done <= stop_at:
                    result.errors += 1
                    result.error_samples.append(f"{type(exc).__name__}: {exc}")
                continue
            done = loop.time()
            if not (measure_from <= sent and done <= stop_at):
                continue
            result.statuses[status] += 1
            if _ok(status):
                result.completed += 1
                result.latencies_ms.append((done - sent) * 1000.0)
            else:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"HTTP {status}: {body[:200]!r}")

    await asyncio.gather(*(worker() for _ in range(connections)))
    return result


async def open_loop(
    client: Client,
    make: RequestFactory,
    *,
    rate: float,
    duration: float,
    warmup: float = 2.0,
) -> LoadResult:
    """Start ``rate`` requests per second on schedule for ``warmup + duration`` seconds."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    total = int((warmup + duration) * rate)
    first_measured = int(warmup * rate)
    result = LoadResult("open", None, rate, duration, 0, 0)
    tasks: list[asyncio.Task[None]] = []

    async def one(index: int, scheduled: float) -> None:
        request = make(index)
        measured = index >= first_measured
        try:
            status, body = await client.call(request)
        except Exception as exc:
            if measured:
                result.errors += 1
                result.error_samples.append(f"{type(exc).__name__}: {exc}")
            return
        if not measured:
            return
        done = loop.time()
        result.answered_ms.append((done - scheduled) * 1000.0)
        result.statuses[status] += 1
        if _ok(status):
            result.completed += 1
            result.latencies_ms.append((done - scheduled) * 1000.0)
        else:
            result.errors += 1
            if len(result.error_samples) < 5:
                result.error_samples.append(f"HTTP {status}: {body[:200]!r}")

    index = 0
    while index < total:
        now = loop.time()
        due = start + index / rate
        if due > now:
            await asyncio.sleep(due - now)
            continue
        # Start every request whose time has come (the loop may wake up late).
        while index < total and start + index / rate <= now:
            scheduled = start + index / rate
            if index >= first_measured:
                result.max_start_lag_ms = max(result.max_start_lag_ms, (now - scheduled) * 1000)
            tasks.append(loop.create_task(one(index, scheduled)))
            index += 1
    await asyncio.gather(*tasks)
    result.unavailable_without_retry_after = client.unavailable_without_retry_after
    # Completed count over the measured schedule: the offered window, not the drain time.
    return result


def run(coro: Any) -> Any:
    """Run ``coro`` on uvloop (the load generator uses the same loop as the server)."""
    import uvloop

    return uvloop.run(coro)


def now() -> float:
    return time.perf_counter()
