"""``/dashboard``: the operator dashboard, server-rendered (Jinja2) with a little JavaScript.

Signed in as an operator (``failover-otp operators``) or with an application's id and secret, it
shows one application's flows at a time. Pages are served with a strict Content-Security-Policy
(scripts, styles and fetches from this origin only: nothing leaves the host), the session cookie
is a random token checked server side on every request (HttpOnly, SameSite=Lax), and form POSTs
from another origin are refused. None of these routes is part of the public API schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from failover_otp import __version__
from failover_otp.services.dashboard import PERIODS, DashboardService, format_ms
from failover_otp.services.dashboard_sessions import TooManySignIns
from failover_otp.store.refusal_store import RefusalStore
from failover_otp.store.stats_store import StatsStore
from failover_otp.web.dashboard.sessions import (
    COOKIE_NAME,
    audit_trail,
    current_session,
    sessions_for,
)
from failover_otp.web.dashboard.table import (
    FLOW_STATUS_CHOICES,
    STEP_STATUS_CHOICES,
    Filters,
    csv_lines,
)
from failover_otp.web.deps import get_services
from failover_otp.web.responses import FastJSONResponse

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TOO_MANY_SIGN_INS = "Too many failed sign-ins for this operator: try again within 15 minutes."
PAGE_SIZE = 25
REFRESH_MS = 2000

router = APIRouter(prefix="/dashboard", include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def install(app: FastAPI) -> None:
    """Serve the dashboard (pages and its vendored static files) from ``app``."""
    from failover_otp.web.dashboard import account_routes, timing_routes  # built on these helpers

    app.include_router(router)
    app.include_router(account_routes.router)
    app.include_router(timing_routes.router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")


def dashboard_service(request: Request) -> DashboardService:
    """One per app, made on first use from the running services."""
    state = request.app.state
    service: DashboardService | None = getattr(state, "dashboard", None)
    if service is None:
        services = get_services(request)
        service = DashboardService(
            StatsStore(services.db),
            services.apps,
            services.flows,
            services.clock,
            services.listings,
            count_limit=services.settings.list_count_limit,
            refusals=RefusalStore(services.db),
            time_scale=services.settings.time_scale,
            sms_price=services.settings.price_sms,
            currency=services.settings.dashboard_currency,
        )
        state.dashboard = service
    return service


# -- rendering helpers -----------------------------------------------------------------------


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/") + "/dashboard"


def _number(value: Any) -> float | None:
    """The value if it is a number (missing step fields reach the templates as Undefined)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _money(value: Any) -> str:
    number = _number(value)
    return "" if number is None else f"{number:.4f}"


def _percent(value: Any) -> str:
    number = _number(value)
    return "-" if number is None else f"{number * 100:.1f}%"


def _duration(value: Any) -> str:
    return format_ms(_number(value))


def _clock(value: Any) -> str:
    """``2026-02-16T12:00:01.250Z`` → ``12:00:01.250``."""
    return value[11:23] if isinstance(value, str) else ""


def _when(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("T", " ").removesuffix("Z")[:19] + " UTC"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _offset(ms: int) -> str:
    return "+" + format_ms(ms) if ms else "+0"


templates.env.filters.update(
    money=_money, percent=_percent, clock=_clock, when=_when, duration=_duration, offset=_offset
)
templates.env.globals.update(version=__version__)


def _page(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    response = templates.TemplateResponse(
        request, name, {"base": _base(request), **context}, status_code=status_code
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    query = urlencode({"next": target})
    response = RedirectResponse(f"{_base(request)}/login?{query}", status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


def _unauthorized() -> Response:
    return FastJSONResponse(
        {"code": "unauthorized", "message": "sign in at /dashboard/login"},
        status_code=401,
        headers=SECURITY_HEADERS,
    )


async def _application(request: Request) -> str | None:
    """The application the request's session shows (the session is kept on ``request.state``
    for the page templates: who is signed in, and as what)."""
    session = await current_session(request)
    return session.application_id if session else None


def _same_origin(request: Request) -> bool:
    """Form POSTs must come from our own pages (the cookie is SameSite=Lax besides)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _safe_next(request: Request, target: str | None) -> str:
    base = _base(request)
    if target and target.startswith(base) and not target.startswith("//") and "\\" not in target:
        return target
    return base


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


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    if await _application(request) is not None:
        return RedirectResponse(_safe_next(request, next), status_code=303)
    return _page(request, "login.html", {"next": _safe_next(request, next), "error": None})


@router.post("/login")
async def login(
    request: Request,
    application_id: Annotated[str, Form(max_length=64)] = "",
    application_secret: Annotated[str, Form(max_length=256)] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    target = _safe_next(request, next)
    if not _same_origin(request):
        return _page(
            request,
            "login.html",
            {"next": target, "error": "This form must be sent from this site."},
            status_code=403,
        )
    sessions = sessions_for(request)
    if username or password:
        try:
            token = await sessions.sign_in_operator(username, password)
        except TooManySignIns:
            context = {"next": target, "error": TOO_MANY_SIGN_INS, "username": username}
            return _page(request, "login.html", context, status_code=429)
        error = "Unknown operator, wrong password, or no application to show."
    else:
        token = await sessions.sign_in(application_id, application_secret)
        error = "Unknown application or wrong secret."
    if token is None:
        context = {
            "next": target,
            "error": error,
            "application_id": application_id,
            "username": username,
        }
        return _page(request, "login.html", context, status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=sessions.session_seconds,
        path=_base(request),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    response.headers.update(SECURITY_HEADERS)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Sign out: the session ends server side (a copy of the cookie stops working too)."""
    response = RedirectResponse(f"{_base(request)}/login", status_code=303)
    if _same_origin(request):
        await sessions_for(request).sign_out(request.cookies.get(COOKIE_NAME))
        response.delete_cookie(COOKIE_NAME, path=_base(request), httponly=True, samesite="lax")
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("")
async def dashboard_page(request: Request, filters: FiltersDep) -> Response:
    app_id = await _application(request)
    if app_id is None:
        return _login_redirect(request)
    service = dashboard_service(request)
    app = await service.apps.get(app_id)
    stats = await service.stats(app_id, filters.period)
    context = {
        **await _table_context(request, app_id, filters),
        "app_id": app_id,
        "app_name": app.name if app else app_id,
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
    app = await dashboard_service(request).apps.get(app_id)
    context.update(app_id=app_id, app_name=app.name if app else app_id)
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
