"""Who is signed in to the dashboard: the session behind a request's cookie."""

from __future__ import annotations

from fastapi import Request

from failover_otp.services.audit import AuditTrail
from failover_otp.services.dashboard_sessions import DashboardSessions, Session
from failover_otp.services.operators import OperatorService
from failover_otp.store.audit_store import AuditStore
from failover_otp.store.operator_store import OperatorStore
from failover_otp.store.session_store import SessionStore
from failover_otp.web.deps import get_services

COOKIE_NAME = "fotp_dashboard"


def sessions_for(request: Request) -> DashboardSessions:
    """One per app, made on first use from the running services."""
    state = request.app.state
    sessions: DashboardSessions | None = getattr(state, "dashboard_sessions", None)
    if sessions is None:
        services = get_services(request)
        operators = OperatorService(OperatorStore(services.db), services.apps, services.clock)
        sessions = DashboardSessions(
            SessionStore(services.db),
            services.apps,
            operators,
            services.clock,
            session_seconds=services.settings.dashboard_session_seconds,
            sign_in_failures=services.settings.dashboard_sign_in_failures_per_15min,
        )
        state.dashboard_sessions = sessions
    return sessions


async def current_session(request: Request) -> Session | None:
    """The request's session (checked server side), kept on ``request.state.dashboard_session``
    for the templates: who is signed in, and whether they may see admin actions."""
    session = await sessions_for(request).session(request.cookies.get(COOKIE_NAME))
    request.state.dashboard_session = session
    return session


def audit_trail(request: Request) -> AuditTrail:
    """Where the dashboard records admins' actions."""
    services = get_services(request)
    return AuditTrail(AuditStore(services.db), services.clock)
