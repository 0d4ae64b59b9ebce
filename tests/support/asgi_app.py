"""The whole ASGI application in-process (middleware, routes, error handlers, real database),
driven by an httpx client holding a Bearer token: for tests of what crosses the HTTP boundary
without starting a server process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from failover_otp.bootstrap import Services
from failover_otp.services.auth import Credentials
from failover_otp.settings import Settings
from failover_otp.store.tables import flows, rate_counters
from failover_otp.web.app import create_app


@dataclass
class InProcessApi:
    services: Services
    client: httpx.AsyncClient
    credentials: Credentials

    async def stored(self) -> dict[str, int]:
        """How many flows and rate-limit windows the database holds."""
        async with self.services.db.read() as conn:
            flow_count = (await conn.execute(select(func.count()).select_from(flows))).scalar()
            windows = (await conn.execute(select(func.count()).select_from(rate_counters))).scalar()
        return {"flows": int(flow_count or 0), "rate_counters": int(windows or 0)}


@asynccontextmanager
async def in_process_api(database_url: str, **overrides: Any) -> AsyncIterator[InProcessApi]:
    settings = Settings(database_url=database_url, run_worker=False, **overrides)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        credentials = await services.auth.create_application("tests")
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            answer = await client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(credentials.application_id, credentials.application_secret),
            )
            answer.raise_for_status()
            client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
            yield InProcessApi(services, client, credentials)
