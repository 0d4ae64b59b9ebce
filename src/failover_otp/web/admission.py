"""Admission control, as ASGI middleware: past ``FOTP_LIMIT_CONCURRENCY`` requests in flight,
answer **503** ``service_unavailable`` with ``Retry-After`` at once instead of queueing.

uvicorn's own ``limit_concurrency`` answers a plain-text 503 without ``Retry-After`` and counts
idle keep-alive connections too; a client (or the load balancer in front) cannot tell it from a
crash. This one counts only requests being worked on, answers in the API's JSON error shape,
and says when to come back. A refused request has read nothing and stored nothing.

A count alone cannot keep answers fast on every machine: how long the requests in flight take
depends on how much CPU the process and its database get. So the process also watches its own
queues (``FOTP_LIMIT_LOOP_LAG_MS``): the event loop (a callback scheduled every 25 ms notes
how late it runs: the process has more work than CPU) and the database's (how long the latest
write waited for SQLite's writer, or a hot statement for a PostgreSQL connection); while either
runs later than the bound, new requests are shed the same way. A slow provider does not make
either late (requests waiting on it cost no CPU and hold no turn), so it never sheds for it.

Liveness (``/health/live``) and ``/metrics`` are always admitted: an overloaded process is
alive, and its metrics are how an operator sees the overload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from failover_otp.web.responses import FastJSONResponse, error_body

# Paths that are never shed (see the module's docstring).
ALWAYS_ADMITTED = frozenset({"/health/live", "/metrics"})
# Seconds a shed client is told to wait: one is enough for a queue of at most the limit to
# drain at any rate a process sustains (docs/benchmarks.md), and short enough for a login page.
RETRY_AFTER_SECONDS = 1
# How often the loop's lateness is measured, and how many requests are always admitted
# however late it runs (a loop is late for other reasons too: a busy machine, a GC pause).
LAG_PROBE_SECONDS = 0.025
LAG_FLOOR_IN_FLIGHT = 8


class AdmissionLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_in_flight: int = 0,
        max_loop_lag: float = 0.0,
        queue_delay: Callable[[], float] | None = None,
    ) -> None:
        self.app = app
        self.queue_delay = queue_delay or (lambda: 0.0)  # the database's queue, seconds
        self.max_in_flight = max_in_flight  # 0: no count limit
        self.max_loop_lag = max_loop_lag  # seconds; 0: lateness not watched
        self.in_flight = 0
        self.loop_lag = 0.0  # how late the last probe ran (seconds)
        self._probing = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ALWAYS_ADMITTED:
            await self.app(scope, receive, send)
            return
        if self.max_in_flight and self.in_flight >= self.max_in_flight:
            await _shed(
                f"the service is at its limit of {self.max_in_flight} requests in flight "
                "(FOTP_LIMIT_CONCURRENCY)",
                scope,
                receive,
                send,
            )
            return
        if self.max_loop_lag:
            if not self._probing:
                self._probe(asyncio.get_running_loop(), None)
            late = max(self.loop_lag, self.queue_delay())
            if late > self.max_loop_lag and self.in_flight >= LAG_FLOOR_IN_FLIGHT:
                await _shed(
                    f"the service has more work than it can do at once (its work runs "
                    f"{1000 * late:.0f} ms late, past FOTP_LIMIT_LOOP_LAG_MS)",
                    scope,
                    receive,
                    send,
                )
                return
        # One event loop per process: the counter needs no lock.
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    def _probe(self, loop: asyncio.AbstractEventLoop, expected: float | None) -> None:
        """Note how late this callback runs, and schedule the next one."""
        now = loop.time()
        self.loop_lag = 0.0 if expected is None else max(0.0, now - expected)
        self._probing = not loop.is_closed()
        if self._probing:
            next_at = now + LAG_PROBE_SECONDS
            loop.call_at(next_at, self._probe, loop, next_at)


async def _shed(reason: str, scope: Scope, receive: Receive, send: Send) -> None:
    response = FastJSONResponse(
        error_body("service_unavailable", f"{reason}; retry after the Retry-After seconds"),
        status_code=503,
        # The body, if any, is left unread: this connection cannot carry another request.
        headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Connection": "close"},
    )
    await response(scope, receive, send)
