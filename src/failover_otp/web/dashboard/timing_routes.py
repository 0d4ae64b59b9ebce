"""``/dashboard/timing``: the delivery model's time-to-deliver curves per country and operator,
and the what-if replay of the shown application's recent flows (docs/adaptive-failover.md)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from failover_otp.domain.replay import replay, standard_policies
from failover_otp.services.delivery_view import model_entries
from failover_otp.store.replay_store import ReplayStore
from failover_otp.web.dashboard.routes import (
    SECURITY_HEADERS,
    _login_redirect,
    _page,
    _unauthorized,
)
from failover_otp.web.dashboard.sessions import current_session
from failover_otp.web.deps import get_services
from failover_otp.web.responses import FastJSONResponse

router = APIRouter(prefix="/dashboard", include_in_schema=False)
DEFAULT_DAYS = 7


@router.get("/timing")
async def timing_page(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return _login_redirect(request)
    context = {"app_id": session.application_id, "app_name": session.application_name}
    return _page(request, "timing.html", context)


@router.get("/timing.json")
async def timing_json(
    request: Request, days: Annotated[int, Query(ge=1, le=90)] = DEFAULT_DAYS
) -> Response:
    """The model's curves (the whole service's history) and the replay of this application's
    flows of the last ``days``."""
    session = await current_session(request)
    if session is None:
        return _unauthorized()
    services = get_services(request)
    history = services.flows.history
    model = await history.snapshot() if history is not None else None
    now = services.clock.now()
    settings = services.settings
    flows, skipped = await ReplayStore(services.db).recorded(
        session.application_id, now - timedelta(days=days), now, time_scale=settings.time_scale
    )
    policies = standard_policies(settings.auto_ttl_min_seconds, settings.auto_ttl_max_seconds)
    body: dict[str, Any] = {
        "models": model_entries(model) if model is not None else [],
        "replay": {
            "days": days,
            "flows": len(flows),
            "skipped": skipped,
            "policies": [asdict(r) for r in replay(flows, policies)],
        },
    }
    return FastJSONResponse(body, headers=SECURITY_HEADERS)
