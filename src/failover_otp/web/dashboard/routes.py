"""``/dashboard``: the operator dashboard, server-rendered (Jinja2) with a little JavaScript.

Signed in as an operator (``failover-otp operators``) or with an application's id and secret, it
shows one application's flows at a time. Pages are served with a strict Content-Security-Policy
(scripts, styles and fetches from this origin only: nothing leaves the host), the session cookie
is a random token checked server side on every request (HttpOnly, SameSite=Lax), and form POSTs
from another origin are refused. None of these routes is part of the public API schema.

This module: the flows table, one flow's page, the tiles and charts' numbers, the CSV export.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from starlette.responses import Response, StreamingResponse
from starlette.staticfiles import StaticFiles

from failover_otp.services.dashboard import PERIODS, DashboardService
from failover_otp.web.dashboard.pages import (
    SECURITY_HEADERS,
    STATIC_DIR,
    _application,
    _login_redirect,
    _page,
    _unauthorized,
)
from failover_otp.web.dashboard.sessions import audit_trail, current_session
from failover_otp.web.dashboard.table import (
    FLOW_STATUS_CHOICES,
    STEP_STATUS_CHOICES,
    Filters,
    csv_lines,
)
from failover_otp.web.deps import get_services
from failover_otp.web.responses import FastJSONResponse

PAGE_SIZE = 25
REFRESH_MS = 2000

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def install(app: FastAPI, *, sandbox: bool = False) -> None:
    """Serve the dashboard (pages and its vendored static files) from ``app``; ``sandbox``:
    the provider is the embedded sandbox, whose inbox gets a page (no such thing on Routee)."""
    # Built on these helpers:
    from failover_otp.web.dashboard import (
        account_routes,
        inbox_routes,
        login_routes,
        timing_routes,
    )

    app.include_router(login_routes.router)
    app.include_router(router)
    app.include_router(account_routes.router)
    app.include_router(timing_routes.router)
    app.state.sandbox_inbox = sandbox
    if sandbox:
        app.include_router(inbox_routes.router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")


def dashboard_service(request: Request) -> DashboardService:
    return get_services(request).dashboard


# -- the flows table -------------------------------------------------------------------------


async def _table_context(request: Request, app_id: str, filters: Filters) -> dict[str, Any]:
    older_than, newer_than = filters.position()
    service = dashboard_service(request)
    page, rows = await service.table(
        filters.store_filter(app_id), size=PAGE_SIZE, older_than=older_than, newer_than=newer_than
    )
    return {
        "rows": rows,
        "page": page,
        "count_limit": service.count_limit,
        "filters": filters,
        "currency": service.currency,
        "updated_at": datetime.now(UTC).strftime("%H:%M:%S"),
    }


TableQuery = Annotated[str, Query(max_length=64)]


def _filters(
    status: Annotated[str, Query(max_length=40)] = "",
    tag: Annotated[str, Query(max_length=350)] = "",
    phone: Annotated[str, Query(max_length=40)] = "",
    flow_id: TableQuery = "",
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
    older: TableQuery = "",
    newer: TableQuery = "",
    at: Annotated[str, Query(max_length=10)] = "",
    period: Annotated[int, Query(ge=0, le=366)] = 7,
) -> Filters:
    return Filters(
        status=status,
        tag=tag,
        phone=phone,
        flow_id=flow_id,
        date_from=date_from,
        date_to=date_to,
        older=older,
        newer=newer,
        at=at,
        period=period if period in PERIODS else 7,
    )


FiltersDep = Annotated[Filters, Depends(_filters)]


# -- routes ----------------------------------------------------------------------------------


@router.get("")
async def dashboard_page(request: Request, filters: FiltersDep) -> Response:
    app_id = await _application(request)
    if app_id is None:
        return _login_redirect(request)
    service = dashboard_service(request)
    app_name = await service.app_name(app_id)
    stats = await service.stats(app_id, filters.period)
    context = {
        **await _table_context(request, app_id, filters),
        "app_id": app_id,
        "app_name": app_name,
        "stats": stats,
        "periods": PERIODS,
        "flow_statuses": FLOW_STATUS_CHOICES,
        "step_statuses": STEP_STATUS_CHOICES,
        "refresh_ms": REFRESH_MS,
    }
    return _page(request, "dashboard.html", context)


@router.get("/flows")
async def flows_fragment(request: Request, filters: FiltersDep) -> Response:
    """The flows table alone: what the page's auto-refresh fetches."""
    app_id = await _application(request)
    if app_id is None:
        return _unauthorized()
    return _page(request, "_flows.html", await _table_context(request, app_id, filters))


@router.get("/flows.csv")
async def flows_csv(request: Request, filters: FiltersDep) -> Response:
    """Every flow the filters match, as CSV, streamed a batch at a time (newest first). A bulk
    copy of phone numbers: for the application's admins only, and written to the audit trail."""
    session = await current_session(request)
    if session is None:
        return _unauthorized()
    if not session.is_admin:
        return FastJSONResponse(
            {"code": "forbidden", "message": "exports are for the application's admins"},
            status_code=403,
            headers=SECURITY_HEADERS,
        )
    app_id = session.application_id
    await audit_trail(request).record(
        session.actor, "flows.export", application_id=app_id, filters=filters.filter_query()
    )
    service = dashboard_service(request)
    where = filters.store_filter(app_id)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="flows-{stamp}.csv"',
    }
    return StreamingResponse(
        csv_lines(service.export(where), service.currency),
        media_type="text/csv; charset=utf-8",
        headers=headers,
    )


@router.get("/tiles")
async def tiles_fragment(
    request: Request, period: Annotated[int, Query(ge=0, le=366)] = 7
) -> Response:
    """The summary tiles alone, refreshed with the charts."""
    app_id = await _application(request)
    if app_id is None:
        return _unauthorized()
    stats = await dashboard_service(request).stats(app_id, period)
    return _page(request, "_tiles.html", {"stats": stats})


@router.get("/stats.json")
async def stats_json(request: Request, period: Annotated[int, Query(ge=0, le=366)] = 7) -> Response:
    """What the charts draw (see ``DashboardService.stats``)."""
    app_id = await _application(request)
    if app_id is None:
        return _unauthorized()
    stats = await dashboard_service(request).stats(app_id, period)
    return FastJSONResponse(stats, headers=SECURITY_HEADERS)


async def _flow_context(request: Request, app_id: str, flow_id: str) -> dict[str, Any] | None:
    service = dashboard_service(request)
    view = await service.flow(app_id, flow_id)
    if view is None:
        return None
    return {
        "view": view,
        "story": view.story,
        "currency": service.currency,
        "refresh_ms": REFRESH_MS,
        "updated_at": datetime.now(UTC).strftime("%H:%M:%S"),
    }


@router.get("/flows/{flow_id}")
async def flow_page(request: Request, flow_id: str) -> Response:
    """One flow: its status, costs, step table and timeline."""
    app_id = await _application(request)
    if app_id is None:
        return _login_redirect(request)
    context = await _flow_context(request, app_id, flow_id[:64])
    if context is None:
        return _page(request, "not_found.html", {"flow_id": flow_id[:64]}, status_code=404)
    app_name = await dashboard_service(request).app_name(app_id)
    context.update(app_id=app_id, app_name=app_name)
    return _page(request, "flow.html", context)


@router.get("/flows/{flow_id}/fragment")
async def flow_fragment(request: Request, flow_id: str) -> Response:
    app_id = await _application(request)
    if app_id is None:
        return _unauthorized()
    context = await _flow_context(request, app_id, flow_id[:64])
    if context is None:
        return _page(request, "not_found.html", {"flow_id": flow_id[:64]}, status_code=404)
    return _page(request, "_flow.html", context)
