"""``POST /otp/verify``: check a code the service generated (or was given) for a flow."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from failover_otp.web.deps import ApplicationId, ServicesDep
from failover_otp.web.error_schemas import error_responses
from failover_otp.web.responses import FastJSONResponse

router = APIRouter(prefix="/otp", tags=["Failover OTP"])


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flowId: str = Field(min_length=1, max_length=64, description="the flow the code was sent in")
    code: str = Field(min_length=1, max_length=64, description="what the user typed")


class VerifyResponse(BaseModel):
    flowId: str = Field(description="the flow the code was checked for")
    valid: bool = Field(description="true only for `approved`")
    status: Literal["approved", "wrong_code", "expired", "too_many_attempts", "already_used"] = (
        Field(
            description=(
                "`approved`: right code, now spent (a pending failover is cancelled); "
                "`wrong_code`; `expired`: past the code's lifetime; `too_many_attempts`: the "
                "flow's attempts (or the number's daily failures) are used up; `already_used`"
            )
        )
    )


@router.post(
    "/verify",
    response_model=VerifyResponse,
    summary="Verify the code a flow delivered (single use, limited attempts)",
    responses=error_responses(400, 401, 404, 422),
)
async def verify_code(
    payload: VerifyRequest, app_id: ApplicationId, services: ServicesDep
) -> FastJSONResponse:
    result = await services.security.codes.verify(app_id, payload.flowId, payload.code)
    return FastJSONResponse(result.body())
