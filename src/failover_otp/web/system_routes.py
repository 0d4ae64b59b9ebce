"""Service info, health and metrics: no authentication."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from failover_otp import __version__
from failover_otp.bootstrap import Services
from failover_otp.web.deps import ServicesDep
from failover_otp.web.responses import FastJSONResponse

router = APIRouter(tags=["System"])


@router.get("/", summary="Service info")
async def root() -> FastJSONResponse:
    return FastJSONResponse(
        {"service": "failover-otp", "version": __version__, "status": "ok", "health": "/health"}
    )


@router.get("/health/live", summary="Liveness: the process answers (no database involved)")
async def health_live() -> FastJSONResponse:
    return FastJSONResponse({"status": "ok"})


_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "not ready: the body names what failed (`database`, `writes`, `disk`) "
        "and the `error`",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.get(
    "/health/ready",
    summary="Readiness: the database takes reads and writes",
    responses=_NOT_READY,
)
async def health_ready(services: ServicesDep) -> FastJSONResponse:
    return await _readiness(services)


@router.get("/health", summary="Readiness (as /health/ready)", responses=_NOT_READY)
async def health(services: ServicesDep) -> FastJSONResponse:
    return await _readiness(services)


async def _readiness(services: Services) -> FastJSONResponse:
    ready, body = await services.health.readiness()
    return FastJSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text format", "content": {"text/plain": {}}}},
)
async def metrics(services: ServicesDep) -> Response:
    with contextlib.suppress(Exception):  # the database gauges keep their last values
        await services.health.refresh_gauges()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
