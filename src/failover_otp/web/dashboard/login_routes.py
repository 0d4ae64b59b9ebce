"""``/dashboard/login`` and ``/dashboard/logout``: signing in as an operator or with an
application's id and secret, and out (the session ends server side)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from failover_otp.services.dashboard_sessions import TooManySignIns
from failover_otp.web.dashboard.pages import (
    SECURITY_HEADERS,
    _application,
    _base,
    _page,
    _safe_next,
    _same_origin,
)
from failover_otp.web.dashboard.sessions import COOKIE_NAME, sessions_for

router = APIRouter(prefix="/dashboard", include_in_schema=False)
TOO_MANY_SIGN_INS = "Too many failed sign-ins for this operator: try again within 15 minutes."


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
