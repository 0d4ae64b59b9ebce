"""Request dependencies: the running services and the caller's application."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from failover_otp.bootstrap import Services
from failover_otp.services.errors import Unauthenticated

_bearer = HTTPBearer(auto_error=False, description="access_token from POST /oauth/token")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _services(request: Request) -> Services:
    # The dependency is async on purpose: FastAPI runs a plain ``def`` dependency in a worker
    # thread, a thread hop (and GIL hand-off) on every request for an attribute read.
    return get_services(request)


ServicesDep = Annotated[Services, Depends(_services)]


async def current_application(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("missing bearer token: get one from POST /oauth/token")
    app_id = await services.auth.application_for(credentials.credentials)
    if app_id is None:
        raise Unauthenticated("invalid or expired access token")
    return app_id


ApplicationId = Annotated[str, Depends(current_application)]
