"""Admission control, as ASGI middleware: past ``FOTP_LIMIT_CONCURRENCY`` requests in flight,
answer **503** ``service_unavailable`` with ``Retry-After`` at once instead of queueing.

uvicorn's own ``limit_concurrency`` answers a plain-text 503 without ``Retry-After`` and counts
idle keep-alive connections too; a client (or the load balancer in front) cannot tell it from a
crash. This one counts only requests being worked on, answers in the API's JSON error shape,
and says when to come back. A refused request has read nothing and stored nothing.

Liveness (``/health/live``) and ``/metrics`` are always admitted: an overloaded process is
alive, and its metrics are how an operator sees the overload.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from failover_otp.web.responses import FastJSONResponse, error_body

# Paths that are never shed (see the module's docstring).
ALWAYS_ADMITTED = frozenset({"/health/live", "/metrics"})
# Seconds a shed client is told to wait: one is enough for a queue of at most the limit to
# drain at any rate a process sustains (docs/benchmarks.md), and short enough for a login page.
RETRY_AFTER_SECONDS = 1


class AdmissionLimit:
    def __init__(self, app: ASGIApp, *, max_in_flight: int) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ALWAYS_ADMITTED:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            await _shed(self.max_in_flight, scope, receive, send)
            return
        # One event loop per process: the counter needs no lock.
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


async def _shed(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    response = FastJSONResponse(
        error_body(
            "service_unavailable",
            f"the service is at its limit of {limit} requests in flight "
            "(FOTP_LIMIT_CONCURRENCY); retry after the Retry-After seconds",
        ),
        status_code=503,
        # The body, if any, is left unread: this connection cannot carry another request.
        headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Connection": "close"},
    )
    await response(scope, receive, send)
