"""``/dashboard/timing``: the delivery model's time-to-deliver curves per country and operator,
and the what-if replay of the shown application's recent flows (docs/adaptive-failover.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from failover_otp.web.dashboard.pages import (
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
    body = await get_services(request).timing.timing(session.application_id, days)
    return FastJSONResponse(body, headers=SECURITY_HEADERS)
