"""Who is signed in to the dashboard: the session behind a request's cookie."""

from __future__ import annotations

from fastapi import Request

from failover_otp.services.audit import AuditTrail
from failover_otp.services.dashboard_sessions import DashboardSessions, Session
from failover_otp.web.deps import get_services

COOKIE_NAME = "fotp_dashboard"


def sessions_for(request: Request) -> DashboardSessions:
    return get_services(request).dashboard_sessions


async def current_session(request: Request) -> Session | None:
    """The request's session (checked server side), kept on ``request.state.dashboard_session``
    for the templates: who is signed in, and whether they may see admin actions."""
    session = await sessions_for(request).session(request.cookies.get(COOKIE_NAME))
    request.state.dashboard_session = session
    return session


def audit_trail(request: Request) -> AuditTrail:
    """Where the dashboard records admins' actions."""
    return get_services(request).audit
