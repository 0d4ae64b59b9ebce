"""What every dashboard page shares: the templates and their filters, the security headers,
who the request is signed in as, and the answers to a request without a session."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from failover_otp import __version__
from failover_otp.services.timeline import format_ms
from failover_otp.web.dashboard.sessions import current_session
from failover_otp.web.responses import FastJSONResponse

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"

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
