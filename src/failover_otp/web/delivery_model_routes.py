"""``GET /stats/delivery-times``: the delivery model ``"ttl": "auto"`` chooses from (read-only;
docs/api.md, docs/adaptive-failover.md). Not a Routee endpoint."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from failover_otp.domain.delivery_model import MIN_AT_RISK, MIN_SAMPLES
from failover_otp.services.delivery_view import model_entries
from failover_otp.web.deps import ApplicationId, ServicesDep
from failover_otp.web.error_schemas import error_responses
from failover_otp.web.responses import FastJSONResponse

router = APIRouter(prefix="/stats", tags=["Statistics"])


class CurvePoint(BaseModel):
    seconds: float = Field(description="time since the send")
    deliveredShare: float = Field(description="estimated share delivered by then (0-1)")


class DeliveryTimes(BaseModel):
    channel: str = Field(description="`viber` or `sms`")
    country: str | None = Field(description="ISO 3166 alpha-2; null: every country")
    operator: str | None = Field(description="the mobile operator; null: every operator")
    samples: int = Field(description="sent messages that ended within the window")
    trusted: bool = Field(description=f"at least {MIN_SAMPLES} samples: auto ttls use it")
    trustedUntilSeconds: float | None = Field(
        description=f"the curve is shown up to where at least {MIN_AT_RISK} messages were "
        "still waiting"
    )
    deliveredShare: float | None = Field(description="delivered by trustedUntilSeconds")
    notDeliveredShare: float | None = Field(description="not delivered by trustedUntilSeconds")
    medianSeconds: float | None = Field(description="half of those deliveries arrived by then")
    p95Seconds: float | None = Field(description="95 % of those deliveries arrived by then")
    curve: list[CurvePoint] = Field(description="the time-to-deliver curve")


class DeliveryModelView(BaseModel):
    windowHours: int = Field(description="the sliding window the history covers")
    minSamples: int = Field(description="samples a key needs before auto ttls trust it")
    models: list[DeliveryTimes] = Field(
        description="per channel x country x operator, and the coarser channel x country and "
        "channel the lookup falls back to"
    )


@router.get(
    "/delivery-times",
    response_model=DeliveryModelView,
    summary="How long messages take to be delivered, per channel, country and operator",
    responses=error_responses(401, 422),
)
async def delivery_times(
    _app_id: ApplicationId,
    services: ServicesDep,
    channel: Annotated[
        Literal["viber", "sms"] | None, Query(description="only this channel")
    ] = None,
) -> FastJSONResponse:
    history = services.flows.history
    model = await history.snapshot() if history is not None else None
    return FastJSONResponse(
        {
            "windowHours": services.settings.delivery_model_window_hours,
            "minSamples": MIN_SAMPLES,
            "models": model_entries(model, channel) if model is not None else [],
        }
    )
