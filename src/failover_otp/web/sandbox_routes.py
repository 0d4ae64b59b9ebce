"""``GET /sandbox/inbox/{flowId}``: the sandbox's phone, for trying ``POST /otp/verify`` with a
code the service generated. Mounted only when the provider is the embedded sandbox (web/app.py):
with the real Routee the path does not exist (404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from failover_otp.web.deps import ApplicationId, ServicesDep
from failover_otp.web.error_schemas import error_responses
from failover_otp.web.responses import FastJSONResponse

router = APIRouter(prefix="/sandbox", tags=["Sandbox"])


class InboxMessage(BaseModel):
    trackingId: str = Field(description="the message (a step of the flow)")
    channel: str = Field(description="viber, sms or voice")
    to: str = Field(description="the phone number, E.164 digits")
    text: str = Field(description="what the phone shows (SMS: the body, code filled in)")
    code: str | None = Field(description="the code the message carried, if any")
    status: str = Field(description="the message's status in the sandbox now")
    delivered: bool = Field(description="whether the phone has received it")


class Inbox(BaseModel):
    flowId: str = Field(description="the flow")
    messages: list[InboxMessage] = Field(description="the flow's messages, in send order")


@router.get(
    "/inbox/{flow_id}",
    response_model=Inbox,
    summary="Sandbox only: what the flow's phone received, code included",
    responses=error_responses(404),
)
async def sandbox_inbox(
    flow_id: Annotated[str, Path(description="the flowId (or a step's trackingId)")],
    app_id: ApplicationId,
    services: ServicesDep,
) -> FastJSONResponse:
    return FastJSONResponse(await services.sandbox_inbox.messages(app_id, flow_id))
