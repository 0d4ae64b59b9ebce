"""The Failover OTP API: send, track one flow, list deliveries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from failover_otp.bootstrap import Services
from failover_otp.domain.adaptive_ttl import AutoTtl
from failover_otp.domain.events import Start
from failover_otp.domain.flow import FlowKind
from failover_otp.domain.listing import DeliveryFilter
from failover_otp.domain.records import FlowRecord
from failover_otp.domain.statuses import FlowStatus, StepStatus
from failover_otp.errors import NotFound, ValidationFailed, shown
from failover_otp.phones import InvalidPhoneNumber, normalize
from failover_otp.services.idempotency import Reply
from failover_otp.services.story import flow_story, iso, step_story
from failover_otp.store.ttl_policy_store import TtlPolicy, TtlPolicyStore
from failover_otp.web.callback_url import refuse_unsafe_callback
from failover_otp.web.deps import ApplicationId, ServicesDep
from failover_otp.web.error_schemas import error_responses
from failover_otp.web.idempotency import IdempotencyKey, answer
from failover_otp.web.otp_codes import take_code
from failover_otp.web.otp_requests import asks_for_auto, otp_plans
from failover_otp.web.otp_schemas import (
    OTP_TTL_MAX_SECONDS,
    DeliveryPage,
    FlowStory,
    SendFailoverRequest,
    SendFailoverResponse,
)
from failover_otp.web.responses import FastJSONResponse

router = APIRouter(prefix="/otp", tags=["Failover OTP"])


async def ttl_policy(services: Services, app_id: str, payload: SendFailoverRequest) -> TtlPolicy:
    """The application's auto ttl settings, read only when a step may need them."""
    settings = services.settings
    default = TtlPolicy(
        AutoTtl(
            settings.auto_ttl_min_seconds,
            min(settings.auto_ttl_max_seconds, OTP_TTL_MAX_SECONDS),
            settings.auto_ttl_threshold,
        ),
        is_default=False,
    )
    if not asks_for_auto(payload):
        return default
    return await TtlPolicyStore(services.db).get(app_id) or default


def send_response(record: FlowRecord) -> dict[str, Any]:
    flow = record.flow
    accepted = [s for s in flow.steps if s.sent_at is not None]
    echo = []
    for index, step in enumerate(record.meta.request):
        sent = flow.step_for(index)
        tracking = sent.tracking_id if sent is not None and sent.sent_at is not None else None
        echo.append({**step, "trackingId": tracking})
    failed = flow.status is FlowStatus.FAILED
    body: dict[str, Any] = {
        "flowId": None if failed else flow.id,
        "status": flow.status.value,
        "type": accepted[-1].channel.type_name if accepted else None,
        "flow": echo,
        "createdAt": iso(flow.created_at),
        "statusCode": int(flow.status_code) if flow.status_code is not None else None,
    }
    if failed:
        body["error"] = flow.error
    return body


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
    security = services.security

    async def execute(flow_id: str) -> Reply:
        plans, meta = otp_plans(payload, await ttl_policy(services, app_id, payload))
        await refuse_unsafe_callback(services.callbacks, meta.callback_url)
        meta, code = take_code(payload, meta, length=security.code_length)
        await security.abuse.admit(app_id, plans, meta.request, flow_id=flow_id)
        if code is not None:
            await security.codes.issue(
                flow_id=flow_id, application_id=app_id, phone=plans[0].to, code=code
            )
        record = await services.flows.start_flow(
            application_id=app_id, kind=FlowKind.OTP, plans=plans, meta=meta, flow_id=flow_id
        )
        return Reply.json(send_response(record))

    async def resume(flow_id: str) -> Reply | None:
        record = await services.flows.apply(flow_id, Start())
        return Reply.json(send_response(record)) if record is not None else None

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
    record = await services.flows.read(app_id, flow_or_tracking_id)
    if record is None:
        raise NotFound(f"no flow or message {shown(flow_or_tracking_id)}")
    return FastJSONResponse(flow_story(record.flow, record.meta, services.settings.time_scale))


def _is_whole_number(digits: str) -> bool:
    """A complete, valid number (E.164 digits): listed by that number, not as a part of others
    (no valid number is part of another one in practice, and the whole match uses an index)."""
    try:
        return normalize(digits) == digits
    except InvalidPhoneNumber:
        return False


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
    raise ValidationFailed(
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
    where = DeliveryFilter(
        application_id=app_id,
        step_status=step_status,
        flow_status=flow_status,
        tag=tag or None,
        phone=phone or None,
        phone_whole=bool(phone) and _is_whole_number(phone or ""),
        flow_id=flow_id or None,
        kind=FlowKind.OTP,
    )
    count_limit = services.settings.list_count_limit
    total, deliveries = await services.listings.deliveries(
        where, limit=limit, offset=offset, count_limit=count_limit
    )
    exact = not count_limit or total <= count_limit
    scale = services.settings.time_scale
    results = []
    for delivery in deliveries:
        item = step_story(delivery.step, delivery.label, delivery.flow_id, scale)
        item["flow_status"] = delivery.flow_status
        results.append(item)
    return FastJSONResponse(
        {
            "total": total if exact else count_limit,
            "totalExact": exact,
            "limit": limit,
            "offset": offset,
            "results": results,
        }
    )
