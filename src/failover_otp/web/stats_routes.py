"""``GET /stats/conversion``: the share of OTP flows whose code was verified, per channel,
country and day, beside the delivery rates (docs/api.md). Not a Routee endpoint: it lives apart
from the seeds' ``/otp/failover`` and ``/failover`` paths."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from failover_otp.web.deps import ApplicationId, ServicesDep
from failover_otp.web.error_schemas import error_responses
from failover_otp.web.failover_search import parse_range
from failover_otp.web.responses import FastJSONResponse

router = APIRouter(prefix="/stats", tags=["Statistics"])


class ConversionGroup(BaseModel):
    flows: int = Field(description="OTP flows created in the range in this group")
    verified: int = Field(description="of them, flows whose code `POST /otp/verify` approved")
    conversionRate: float | None = Field(description="verified / flows; null without flows")


class ChannelConversion(ConversionGroup):
    channel: str = Field(description="the channel of the flow's last step: `viber`, `sms`")
    deliveryRate: float | None = Field(
        description="delivered / (delivered + failed) of the channel's steps in the range"
    )


class CountryConversion(ConversionGroup):
    country: str = Field(description="ISO 3166 alpha-2 of the destination; empty if unknown")


class DayConversion(ConversionGroup):
    day: str = Field(description="UTC day the flows were created, YYYY-MM-DD")


class ConversionReport(ConversionGroup):
    dateStart: str = Field(description="inclusive, ISO-8601 UTC")
    dateEnd: str = Field(description="exclusive, ISO-8601 UTC")
    byChannel: list[ChannelConversion] = Field(description="per channel that ended the flow")
    byCountry: list[CountryConversion] = Field(description="per destination country")
    byDay: list[DayConversion] = Field(description="per UTC day, oldest first")


@router.get(
    "/conversion",
    response_model=ConversionReport,
    summary="Share of OTP flows whose code was verified, per channel, country and day",
    responses=error_responses(401, 422),
)
async def conversion(
    app_id: ApplicationId,
    services: ServicesDep,
    date_start: Annotated[
        str | None,
        Query(
            alias="dateStart",
            max_length=64,
            description="ISO-8601, inclusive; default the start (00:00 UTC) of the 7th UTC day "
            "back, today being the first",
        ),
    ] = None,
    date_end: Annotated[
        str | None,
        Query(alias="dateEnd", max_length=64, description="ISO-8601, exclusive; default now"),
    ] = None,
) -> FastJSONResponse:
    start, end = parse_range(date_start, date_end)
    return FastJSONResponse(await services.conversion.report(app_id, start, end))
