"""Service info, health and metrics: no authentication."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.responses import Response

from failover_otp import __version__
from failover_otp.bootstrap import Services
from failover_otp.metrics import set_deadline_gauges
from failover_otp.web.deps import ServicesDep
from failover_otp.web.responses import FastJSONResponse

router = APIRouter(tags=["System"])


@router.get("/", summary="Service info")
async def root() -> FastJSONResponse:
    return FastJSONResponse(
        {"service": "failover-otp", "version": __version__, "status": "ok", "health": "/health"}
    )


@router.get("/health", summary="Liveness and database readiness")
async def health(services: ServicesDep) -> FastJSONResponse:
    try:
        async with services.db.read() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return FastJSONResponse(
            {"status": "unavailable", "database": "down", "error": str(exc)}, status_code=503
        )
    return FastJSONResponse({"status": "ok", "database": "ok"})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text format", "content": {"text/plain": {}}}},
)
async def metrics(services: ServicesDep) -> Response:
    with contextlib.suppress(Exception):  # the database gauges keep their last values
        await _refresh_database_gauges(services)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _refresh_database_gauges(services: Services) -> None:
    async with asyncio.timeout(2):
        pending = await services.flow_store.pending_count()
        earliest = await services.flow_store.next_due_at()
    set_deadline_gauges(pending, earliest, services.clock.now())
