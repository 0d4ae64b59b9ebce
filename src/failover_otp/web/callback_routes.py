"""``POST /callbacks/routee/{token}``: where Routee's delivery reports reach the service
(``services/provider_callbacks.py``); a wrong token answers 404 as if the route did not exist.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from failover_otp.web.deps import ServicesDep
from failover_otp.web.responses import FastJSONResponse

router = APIRouter(tags=["Provider callbacks"], include_in_schema=False)


@router.post("/callbacks/routee/{token}")
async def routee_callback(token: str, request: Request, services: ServicesDep) -> FastJSONResponse:
    accepted = await services.provider_callbacks.routee(token, request.body)
    return FastJSONResponse({"accepted": accepted})
