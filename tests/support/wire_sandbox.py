"""The standalone wire sandbox in-process, for tests of the real Routee provider against it.

A pytest plugin (``pytest_plugins = ["tests.support.wire_sandbox"]``): the sandbox runs as an
aiohttp ``AppRunner`` on 127.0.0.1 (a free port) over a ``RouteeSim`` at time scale 60, and a tiny
callback receiver stands in for the service's ``/callbacks/routee/{token}`` route.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from failover_otp.domain.statuses import StepStatus
from failover_otp.providers.base import DeliveryReport
from failover_otp.providers.routee import RouteeProvider, parse_callback
from failover_otp.providers.sandbox.routee_sim import RouteeSim
from failover_otp.providers.sandbox.wire_server import create_sandbox_app
from failover_otp.settings import Settings

LOOPBACK = "127.0.0.1"
CALLBACK_TOKEN = "cb-token-for-tests"
VIBER_TTL = 60  # sandbox seconds: EXPIRED arrives after 1 s at time scale 60


async def start_app(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, LOOPBACK, 0).start()
    return runner, f"http://{LOOPBACK}:{runner.addresses[0][1]}"


@dataclass
class Sandbox:
    url: str
    sim: RouteeSim
    http: aiohttp.ClientSession

    async def control(self, action: str, body: Any = None) -> Any:
        async with self.http.post(f"{self.url}/_sandbox/{action}", json=body or {}) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def script(self, **fault: Any) -> None:
        await self.control("script", fault)

    async def sends(self) -> dict[str, Any]:
        async with self.http.get(f"{self.url}/_sandbox/sends") as response:
            result: dict[str, Any] = await response.json()
            return result

    async def grant(
        self,
        scope: str | None = None,
        *,
        app_id: str = "app",
        secret: str = "secret",  # noqa: S107
    ) -> tuple[int, Any]:
        """A raw token request: (HTTP status, JSON body)."""
        form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
        headers = {"Authorization": aiohttp.encode_basic_auth(app_id, secret)}
        async with self.http.post(f"{self.url}/oauth/token", data=form, headers=headers) as r:
            return r.status, await r.json()

    async def token(self, scope: str | None = None) -> str:
        status, grant = await self.grant(scope)
        assert status == 200, grant
        return str(grant["access_token"])

    async def call(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """A raw Routee call: (HTTP status, JSON body); fails when the answer is not JSON."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(
            method, self.url + path, json=json, params=params, headers=headers
        ) as response:
            assert response.content_type == "application/json", await response.text()
            return response.status, await response.json()


@dataclass
class Receiver:
    """The service's callback route, reduced to "parse and remember"."""

    url: str = ""
    reports: list[DeliveryReport] = field(default_factory=list)
    # When each report arrived (time.monotonic()), in the order of ``reports``.
    arrivals: list[float] = field(default_factory=list)
    bodies: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != CALLBACK_TOKEN:
            return web.Response(status=404)
        reports = parse_callback(await request.read())
        arrived = time.monotonic()
        async with self.changed:
            self.bodies += 1
            self.reports.extend(reports)
            self.arrivals.extend(arrived for _ in reports)
            self.changed.notify_all()
        return web.Response(text="ok")

    def statuses(self, message_id: str) -> list[StepStatus]:
        return [r.status for r in self.reports if r.message_id == message_id]

    def first_arrival(self, message_id: str) -> float:
        pairs = zip(self.reports, self.arrivals, strict=True)
        return min(arrived for report, arrived in pairs if report.message_id == message_id)

    # Generous: a loaded machine delays callbacks by seconds; the bound only decides how long a
    # broken test takes to fail (tests/support/waiting.py).
    async def wait_for(self, message_id: str, status: StepStatus, timeout: float = 30.0) -> None:
        async with self.changed:
            await asyncio.wait_for(
                self.changed.wait_for(lambda: status in self.statuses(message_id)), timeout
            )


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/callbacks/routee/{token}", receiver.handle)
    runner, receiver.url = await start_app(app)
    yield receiver
    await runner.cleanup()


StartSandbox = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
async def start_sandbox(http: aiohttp.ClientSession) -> AsyncIterator[StartSandbox]:
    started: list[tuple[web.AppRunner, RouteeSim]] = []

    async def start(
        app_id: str | None = None, app_secret: str | None = None, *, callbacks: bool = True
    ) -> Sandbox:
        sim = RouteeSim(time_scale=60)
        app = create_sandbox_app(sim, app_id=app_id, app_secret=app_secret, callbacks=callbacks)
        runner, url = await start_app(app)
        started.append((runner, sim))
        return Sandbox(url, sim, http)

    yield start
    for runner, sim in started:
        await runner.cleanup()
        await sim.aclose()


@pytest.fixture
async def sandbox(start_sandbox: StartSandbox) -> Sandbox:
    return await start_sandbox()


MakeProvider = Callable[..., RouteeProvider]


@pytest.fixture
async def make_provider(sandbox: Sandbox, receiver: Receiver) -> AsyncIterator[MakeProvider]:
    providers: list[RouteeProvider] = []

    def make(url: str | None = None, **overrides: Any) -> RouteeProvider:
        base = url or sandbox.url
        fields: dict[str, Any] = {
            "routee_base_url": base,
            "routee_auth_url": f"{base}/oauth/token",
            "routee_app_id": "app",
            "routee_app_secret": "secret",
            "public_url": receiver.url,
            "routee_timeout_seconds": 5.0,
        }
        settings = Settings(**(fields | overrides))
        provider = RouteeProvider(settings, callback_token=CALLBACK_TOKEN)
        providers.append(provider)
        return provider

    yield make
    for provider in providers:
        await provider.aclose()


@pytest.fixture
async def provider(make_provider: MakeProvider) -> RouteeProvider:
    return make_provider()
