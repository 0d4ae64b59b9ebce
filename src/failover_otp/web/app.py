"""The ASGI application: routes, error mapping, and the lifespan that opens the services."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from failover_otp import __version__
from failover_otp.bootstrap import open_services, storage_error_reason
from failover_otp.settings import ProviderName, Settings
from failover_otp.web import (
    auth_routes,
    callback_routes,
    dashboard,
    delivery_model_routes,
    failover_routes,
    otp_routes,
    sandbox_routes,
    stats_routes,
    system_routes,
    verify_routes,
    webhook_routes,
)
from failover_otp.web.admission import AdmissionLimit
from failover_otp.web.error_handlers import install_error_handlers
from failover_otp.web.openapi_docs import install_docs, install_openapi
from failover_otp.web.request_guard import RequestGuard
from failover_otp.web.responses import FastJSONResponse


def _database_queue_delay(app: FastAPI) -> float:
    services = getattr(app.state, "services", None)
    return float(services.db.queue_delay) if services is not None else 0.0


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings) as services:
            app.state.services = services
            stop = asyncio.Event()
            tasks: list[asyncio.Task[None]] = []
            if settings.run_worker:
                tasks = [asyncio.create_task(loop.run(stop)) for loop in services.worker_loops()]
            try:
                yield
            finally:
                stop.set()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    app = FastAPI(
        title="failover-otp",
        version=__version__,
        description=(
            "One-time passwords over Viber with SMS failover through Routee, with the full "
            "delivery story of every flow."
        ),
        lifespan=lifespan,
        default_response_class=FastJSONResponse,
        docs_url=None,  # /docs and /redoc: served offline by install_docs
        redoc_url=None,
    )
    install_error_handlers(app, storage_error_reason)
    # Oversized bodies (413) and text no field may hold (422) stop here, before any route.
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_request_bytes)
    if settings.limit_concurrency or settings.limit_loop_lag_ms:
        # Outermost, so a request past the limit is shed before its body is read.
        app.add_middleware(
            AdmissionLimit,
            max_in_flight=settings.limit_concurrency,
            max_loop_lag=settings.limit_loop_lag_ms / 1000,
            queue_delay=lambda: _database_queue_delay(app),
        )
    install_openapi(app)
    install_docs(app)
    app.include_router(system_routes.router)
    app.include_router(auth_routes.router)
    app.include_router(otp_routes.router)
    app.include_router(verify_routes.router)
    app.include_router(callback_routes.router)
    app.include_router(failover_routes.router)
    app.include_router(webhook_routes.router)
    app.include_router(stats_routes.router)
    app.include_router(delivery_model_routes.router)
    if settings.provider is ProviderName.SANDBOX:
        app.include_router(sandbox_routes.router)  # the sandbox's inbox: no such thing on Routee
    # /dashboard: pages, and its static files mounted (the sandbox's inbox: sandbox only)
    dashboard.install(app, sandbox=settings.provider is ProviderName.SANDBOX)
    return app
