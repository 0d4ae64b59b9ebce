"""``POST /callbacks/routee/{token}``: where Routee's delivery reports reach the service.

Routee signs nothing, so the path carries an unguessable per-deployment token; a wrong token
answers 404 as if the route did not exist. Reports are applied through the same engine as every
other event: duplicated, reordered and late reports never move a step backwards.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request

from failover_otp.errors import ApiError, NotFound
from failover_otp.providers.routee.wire import MalformedBody, parse_callback
from failover_otp.web.deps import ServicesDep
from failover_otp.web.responses import FastJSONResponse

router = APIRouter(tags=["Provider callbacks"], include_in_schema=False)


class MalformedCallback(ApiError):
    code = "malformed_callback"


@router.post("/callbacks/routee/{token}")
async def routee_callback(token: str, request: Request, services: ServicesDep) -> FastJSONResponse:
    if not hmac.compare_digest(token.encode(), services.callback_token.encode()):
        raise NotFound("not found")
    try:
        reports = parse_callback(await request.body())
    except MalformedBody as exc:
        raise MalformedCallback(str(exc)) from None
    for report in reports:
        await services.flows.report(report)
    return FastJSONResponse({"accepted": len(reports)})
