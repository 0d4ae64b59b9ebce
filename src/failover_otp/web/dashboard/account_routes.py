"""``/dashboard/account`` (an operator's applications) and ``/dashboard/admin`` (admin actions of
the shown application, and its audit trail). Viewers see neither the admin link nor the page:
the routes answer 403 to them, whatever they send."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from failover_otp.services.dashboard_sessions import Session
from failover_otp.web.dashboard.pages import (
    SECURITY_HEADERS,
    _base,
    _login_redirect,
    _page,
    _same_origin,
)
from failover_otp.web.dashboard.sessions import (
    COOKIE_NAME,
    audit_trail,
    current_session,
    sessions_for,
)
from failover_otp.web.deps import get_services

router = APIRouter(prefix="/dashboard", include_in_schema=False)
AUDIT_SHOWN = 100


def _context(session: Session) -> dict[str, object]:
    return {"app_id": session.application_id, "app_name": session.application_name}


def _forbidden(
    request: Request, session: Session, message: str = "This page is for the application's admins."
) -> Response:
    context = {**_context(session), "message": message}
    return _page(request, "forbidden.html", context, status_code=403)


@router.get("/account")
async def account_page(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return _login_redirect(request)
    grants = await sessions_for(request).grants(session)
    return _page(
        request, "account.html", {**_context(session), "session": session, "grants": grants}
    )


@router.post("/account/switch")
async def switch_application(
    request: Request, application_id: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    session = await current_session(request)
    if session is None:
        return _login_redirect(request)
    token = request.cookies.get(COOKIE_NAME, "")
    if not _same_origin(request) or not await sessions_for(request).switch(
        token, session, application_id
    ):
        return _forbidden(request, session, "That is not one of your applications.")
    response = RedirectResponse(_base(request), status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


async def _admin_page(request: Request, session: Session, new_secret: str | None) -> Response:
    entries = await audit_trail(request).recent(
        application_id=session.application_id, limit=AUDIT_SHOWN
    )
    context = {**_context(session), "entries": entries, "new_secret": new_secret}
    return _page(request, "admin.html", context)


@router.get("/admin")
async def admin_page(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return _login_redirect(request)
    if not session.is_admin:
        return _forbidden(request, session)
    return await _admin_page(request, session, None)


@router.post("/admin/rotate-secret")
async def rotate_secret(request: Request) -> Response:
    """A new application secret, shown once; the old one and everything opened with it end."""
    session = await current_session(request)
    if session is None:
        return _login_redirect(request)
    if not session.is_admin or not _same_origin(request):
        return _forbidden(request, session)
    creds = await get_services(request).auth.rotate_secret(session.application_id)
    if creds is None:  # the application went away under us
        return _login_redirect(request)
    await audit_trail(request).record(
        session.actor, "application.rotate_secret", application_id=session.application_id
    )
    return await _admin_page(request, session, creds.application_secret)
