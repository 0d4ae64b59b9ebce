"""Admission control: past FOTP_LIMIT_CONCURRENCY requests in flight, a JSON 503 with
Retry-After at once (uvicorn's limit answered plain text without the header)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from failover_otp.settings import Settings
from failover_otp.web.admission import LAG_FLOOR_IN_FLIGHT, AdmissionLimit
from failover_otp.web.app import create_app


def _held_app(release: asyncio.Event) -> tuple[AdmissionLimit, Starlette]:
    async def slow(request: Request) -> PlainTextResponse:
        await request.body()
        await release.wait()
        return PlainTextResponse("done")

    async def live(request: Request) -> PlainTextResponse:
        return PlainTextResponse("alive")

    inner = Starlette(
        routes=[Route("/slow", slow, methods=["GET", "POST"]), Route("/health/live", live)]
    )
    return AdmissionLimit(inner, max_in_flight=2), inner


async def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def test_past_the_limit_requests_are_shed_with_retry_after() -> None:
    release = asyncio.Event()
    limited, _ = _held_app(release)
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        held = [asyncio.create_task(client.get("/slow")) for _ in range(2)]
        await _wait_for(lambda: limited.in_flight == 2)

        shed = await client.post("/slow", content=b"x" * 10)
        assert shed.status_code == 503
        assert shed.headers["retry-after"] == "1"
        assert shed.headers["content-type"] == "application/json"
        body = shed.json()
        assert body["code"] == "service_unavailable"
        assert "FOTP_LIMIT_CONCURRENCY" in body["message"]
        # Liveness is never shed: an overloaded process is alive.
        assert (await client.get("/health/live")).status_code == 200

        release.set()
        assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
        assert limited.in_flight == 0
        assert (await client.get("/slow")).status_code == 200


async def test_a_failing_request_gives_its_place_back() -> None:
    async def boom(scope: object, receive: object, send: object) -> None:
        raise RuntimeError("the route failed")

    limited = AdmissionLimit(boom, max_in_flight=1)
    for _ in range(3):
        with pytest.raises(RuntimeError):
            await limited({"type": "http", "path": "/x"}, None, None)  # type: ignore[arg-type]
    assert limited.in_flight == 0


def test_the_app_installs_the_limit_only_when_set() -> None:
    def middleware_of(limit: int) -> list[type]:
        app = create_app(Settings(limit_concurrency=limit))
        return [m.cls for m in app.user_middleware]  # type: ignore[misc]

    assert AdmissionLimit in middleware_of(64)
    assert AdmissionLimit not in middleware_of(0)


async def test_while_the_loop_runs_late_new_requests_are_shed() -> None:
    release = asyncio.Event()

    async def slow(request: Request) -> PlainTextResponse:
        await release.wait()
        return PlainTextResponse("done")

    inner = Starlette(routes=[Route("/slow", slow)])
    limited = AdmissionLimit(inner, max_loop_lag=0.05)
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        held = [asyncio.create_task(client.get("/slow")) for _ in range(LAG_FLOOR_IN_FLIGHT)]
        await _wait_for(lambda: limited.in_flight == LAG_FLOOR_IN_FLIGHT)
        # CPU work on the loop (on purpose: it is what makes a loop late) is seen as lateness.
        time.sleep(0.2)
        await _wait_for(lambda: limited.loop_lag > 0.05)
        # While it is late (set here, so no probe on time can come in between), new requests
        # are shed.
        messages: list[dict[str, object]] = []

        async def collect(message: dict[str, object]) -> None:
            messages.append(message)

        limited.loop_lag = 0.2
        scope = {"type": "http", "path": "/slow", "method": "GET", "headers": []}
        await limited(scope, None, collect)  # type: ignore[arg-type]
        assert messages[0]["status"] == 503
        assert (b"retry-after", b"1") in messages[0]["headers"]  # type: ignore[operator]
        assert b"FOTP_LIMIT_LOOP_LAG_MS" in messages[1]["body"]  # type: ignore[operator]
        # On time again: admitted.
        await _wait_for(lambda: limited.loop_lag < 0.05)
        release.set()
        assert all(r.status_code == 200 for r in await asyncio.gather(*held))
        assert (await client.get("/slow")).status_code == 200


async def test_while_the_database_queue_is_long_new_requests_are_shed() -> None:
    release = asyncio.Event()
    delay = [0.0]

    async def slow(request: Request) -> PlainTextResponse:
        await release.wait()
        return PlainTextResponse("done")

    inner = Starlette(routes=[Route("/slow", slow)])
    limited = AdmissionLimit(inner, max_loop_lag=0.05, queue_delay=lambda: delay[0])
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        held = [asyncio.create_task(client.get("/slow")) for _ in range(LAG_FLOOR_IN_FLIGHT)]
        await _wait_for(lambda: limited.in_flight == LAG_FLOOR_IN_FLIGHT)
        delay[0] = 0.3  # the latest write waited 300 ms for its turn
        shed = await client.get("/slow")
        assert shed.status_code == 503
        assert shed.headers["retry-after"] == "1"
        delay[0] = 0.0
        release.set()
        assert all(r.status_code == 200 for r in await asyncio.gather(*held))
        assert (await client.get("/slow")).status_code == 200
