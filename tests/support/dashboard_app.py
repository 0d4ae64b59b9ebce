"""The real ASGI application, in-process, with its lifespan run: each one is what a separate
``serve`` process would be (its own services and connections), on a shared database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from failover_otp.settings import Settings
from failover_otp.web.app import create_app


@asynccontextmanager
async def dashboard_process(database_url: str, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=database_url, run_worker=False, **settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def sign_in(client: httpx.AsyncClient, **form: str) -> str:
    """Sign in through the login form; the session cookie's value."""
    answer = await client.post("/dashboard/login", data=form)
    assert answer.status_code == 303, answer.text
    cookie = answer.cookies.get("fotp_dashboard")
    assert cookie
    return cookie


async def page(client: httpx.AsyncClient, path: str, cookie: str) -> httpx.Response:
    """A GET with only this cookie (as a copied cookie would be sent)."""
    client.cookies.clear()
    client.cookies.set("fotp_dashboard", cookie)
    return await client.get(path)
