"""The Failover OTP API: send, track one flow, list deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from failover_otp.domain.statuses import FlowStatus, StepStatus
from failover_otp.services.errors import Invalid, shown
from failover_otp.services.idempotency import Reply
from failover_otp.services.send_answers import otp_send_answer
from failover_otp.web.deps import ApplicationId, ServicesDep
from failover_otp.web.error_schemas import error_responses
from failover_otp.web.idempotency import IdempotencyKey, answer
from failover_otp.web.otp_requests import otp_ask
from failover_otp.web.otp_schemas import (
    DeliveryPage,
    FlowStory,
    SendFailoverRequest,
    SendFailoverResponse,
)
from failover_otp.web.responses import FastJSONResponse

router = APIRouter(prefix="/otp", tags=["Failover OTP"])


@router.post(
    "/send-failover",
    response_model=SendFailoverResponse,
    summary="Send an OTP through an ordered flow of channels",
    responses=error_responses(400, 401, 409, 422, 429),
)
async def send_failover(
    payload: SendFailoverRequest,
    app_id: ApplicationId,
    services: ServicesDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    sending = services.sending

    async def execute(flow_id: str) -> Reply:
        sent = await sending.send_otp(app_id, otp_ask(payload), flow_id=flow_id)
        return Reply.json(otp_send_answer(sent.record))

    async def resume(flow_id: str) -> Reply | None:
        record = await sending.resume(flow_id)
        return Reply.json(otp_send_answer(record)) if record is not None else None

    return await answer(
        request,
        services,
        application_id=app_id,
        key=idempotency_key,
        endpoint="POST /otp/send-failover",
        execute=execute,
        resume=resume,
    )


@router.get(
    "/failover/{flow_or_tracking_id}",
    response_model=FlowStory,
    summary="A flow's delivery story",
    responses=error_responses(404),
)
async def get_failover(
    flow_or_tracking_id: Annotated[
        str, Path(description="the flowId, or any of its steps' trackingId")
    ],
    app_id: ApplicationId,
    services: ServicesDep,
) -> FastJSONResponse:
    return FastJSONResponse(await services.reads.story(app_id, flow_or_tracking_id))


def status_filter(status: str | None) -> tuple[str | None, str | None]:
    """A step status in any casing (``Delivered``, ``DELIVERED``), or a flow status."""
    if status is None or not status.strip():
        return None, None
    try:
        return StepStatus.parse(status).value, None
    except ValueError:
        pass
    for flow_status in FlowStatus:
        if flow_status.value.lower() == status.strip().lower():
            return None, flow_status.value
    raise Invalid(
        f"status: unknown status {shown(status)}",
        details=[{"loc": ["query", "status"], "msg": "unknown status", "type": "enum"}],
    )


@router.get("/failover", response_model=DeliveryPage, summary="List and filter deliveries")
async def list_failovers(
    app_id: ApplicationId,
    services: ServicesDep,
    status: Annotated[
        str | None, Query(description="step status (any casing) or flow status")
    ] = None,
    tag: Annotated[str | None, Query(max_length=350, description="partial label match")] = None,
    phone_number: Annotated[str | None, Query(max_length=32, description="partial match")] = None,
    flow_id: Annotated[
        str | None, Query(max_length=64, description="the deliveries of this flow only")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="page size")] = 50,
    offset: Annotated[
        int, Query(ge=0, le=10_000_000, description="matches to skip (newest first)")
    ] = 0,
) -> FastJSONResponse:
    step_status, flow_status = status_filter(status)
    phone = "".join(c for c in phone_number if c.isdigit()) if phone_number else None
    page = await services.reads.otp_deliveries(
        app_id,
        step_status=step_status,
        flow_status=flow_status,
        tag=tag,
        phone=phone,
        flow_id=flow_id,
        limit=limit,
        offset=offset,
    )
    return FastJSONResponse(page)
