"""The standard Failover API: send a flow, track one, search many (reference §3, search seed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request
from starlette.responses import Response

from failover_otp.services.idempotency import Reply
from failover_otp.services.send_answers import standard_send_answer
from failover_otp.web.deps import ApplicationId, ServicesDep
from failover_otp.web.error_schemas import error_responses
from failover_otp.web.failover_requests import standard_plans
from failover_otp.web.failover_schemas import (
    SearchFilter,
    SendStandardFailoverRequest,
    SendStandardFailoverResponse,
    Tracking,
    TrackingPage,
)
from failover_otp.web.failover_search import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    SIZE_LIMIT,
    page_size,
    parse_filters,
    parse_range,
)
from failover_otp.web.idempotency import IdempotencyKey, answer
from failover_otp.web.responses import FastJSONResponse

router = APIRouter(prefix="/failover", tags=["Failover"])

MAX_PAGE = 1_000_000


@router.post(
    "",
    response_model=SendStandardFailoverResponse,
    summary="Send a message through an ordered flow of Sms, Viber and Voice steps",
    responses=error_responses(400, 401, 409, 422, 429),
)
async def send_failover(
    payload: SendStandardFailoverRequest,
    app_id: ApplicationId,
    services: ServicesDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    sending = services.sending

    async def execute(flow_id: str) -> Reply:
        plans, meta = standard_plans(payload)
        record = await sending.send_standard(app_id, plans, meta, flow_id=flow_id)
        return Reply.json(standard_send_answer(record))

    async def resume(flow_id: str) -> Reply | None:
        record = await sending.resume(flow_id)
        return Reply.json(standard_send_answer(record)) if record is not None else None

    # Idempotency-Key, abuse and cost control: docs/security.md.
    return await answer(
        request,
        services,
        application_id=app_id,
        key=idempotency_key,
        endpoint="POST /failover",
        execute=execute,
        resume=resume,
    )


@router.get(
    "/tracking/{tracking_id}",
    response_model=Tracking,
    summary="One flow's tracking (either API)",
    responses=error_responses(404),
)
async def get_tracking(
    tracking_id: Annotated[str, Path(description="the flow's trackingId (or an OTP flowId)")],
    app_id: ApplicationId,
    services: ServicesDep,
) -> FastJSONResponse:
    return FastJSONResponse(await services.reads.tracking(app_id, tracking_id))


@router.post(
    "/tracking",
    response_model=TrackingPage,
    summary="Search trackings in a time range, with filters",
)
async def search_trackings(
    app_id: ApplicationId,
    services: ServicesDep,
    filters: Annotated[list[SearchFilter] | None, Body(max_length=100)] = None,
    date_start: Annotated[
        str | None, Query(alias="dateStart", max_length=64, description="ISO-8601, inclusive")
    ] = None,
    date_end: Annotated[
        str | None, Query(alias="dateEnd", max_length=64, description="ISO-8601, exclusive")
    ] = None,
    page: Annotated[int, Query(ge=0, le=MAX_PAGE, description="0-based")] = 0,
    size: Annotated[
        int,
        Query(
            ge=1,
            le=SIZE_LIMIT,
            description=f"page size (>= 1); above {MAX_PAGE_SIZE} the page is capped at it",
        ),
    ] = DEFAULT_PAGE_SIZE,
) -> FastJSONResponse:
    size = page_size(size)
    start, end = parse_range(date_start, date_end)
    page_body = await services.reads.search(
        app_id,
        date_start=start,
        date_end=end,
        filters=parse_filters(filters or []),
        page=page,
        size=size,
    )
    return FastJSONResponse(page_body)
