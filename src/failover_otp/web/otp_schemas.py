"""Request and response models of the Failover OTP API (``/otp/...``), as Routee documents them."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from failover_otp.web.input_bounds import PassThrough, PhoneText

SENDER_ID = r"^(?:[A-Za-z0-9 ]{1,11}|[0-9]{1,16})$"
OTP_TTL_MAX_SECONDS = 86_400


class TemplateType(StrEnum):
    BASIC = "basic"
    BASIC_5MIN = "basic_5min"
    WITH_BUSINESS_NAME = "with_business_name"
    WITH_VALIDITY = "with_validity"
    WITH_TYPE = "with_type"
    WITH_ACTION = "with_action"
    WITH_REASON = "with_reason"
    WITH_TYPE_AND_VALIDITY = "with_type_and_validity"
    WITH_BUSINESS_AND_VALIDITY_HOURS = "with_business_and_validity_hours"


_NEEDS_BUSINESS_NAME = {
    TemplateType.WITH_BUSINESS_NAME,
    TemplateType.WITH_BUSINESS_AND_VALIDITY_HOURS,
    TemplateType.WITH_REASON,
}


class Callback(BaseModel):
    url: HttpUrl


class _Step(PassThrough):
    # Template parameters beyond the documented ones pass through to the provider untouched
    # (within the bounds of input_bounds.PassThrough).
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    to: PhoneText | Annotated[list[PhoneText], Field(max_length=10)] = Field(
        description="E.164 number, with or without the leading +"
    )
    order: int = Field(ge=1, le=1000)
    ttl: int = Field(ge=1, le=OTP_TTL_MAX_SECONDS, description="seconds")
    label: str | None = Field(default=None, max_length=350)


class ViberOtpStep(_Step):
    type: Literal["ViberOtp"]
    senderInfoTrackingId: str = Field(min_length=1, max_length=200)
    templateId: str = Field(min_length=1, max_length=100)
    templateLang: str = Field(default="en", min_length=2, max_length=10)
    pin: str | None = Field(
        default=None,
        pattern=r"^[0-9A-Za-z]{4,10}$",
        description=(
            "the code, 4-10 letters or digits; omit it (on every ViberOtp step) and the service "
            "generates one, to be checked with POST /otp/verify; SMS bodies say `{pin}` where "
            "the code goes"
        ),
    )
    templateType: TemplateType | None = None
    businessName: str | None = Field(default=None, max_length=50)
    failoverOnDelivered: bool = False

    @model_validator(mode="after")
    def _template_params(self) -> ViberOtpStep:
        if self.templateType in _NEEDS_BUSINESS_NAME and not self.businessName:
            raise ValueError(f"businessName is required with templateType {self.templateType}")
        return self


class SmsMessage(PassThrough):
    body: str = Field(min_length=1, max_length=2000)
    flash: bool = False
    transcode: bool | None = None


class SmsStep(_Step):
    type: Literal["Sms"]
    from_: str = Field(alias="from", pattern=SENDER_ID, description="sender id")
    message: SmsMessage


OtpStep = Annotated[ViberOtpStep | SmsStep, Field(discriminator="type")]


class SendFailoverRequest(BaseModel):
    flow: list[OtpStep] = Field(min_length=1, max_length=10)
    callback: Callback | None = None


class SendFailoverResponse(BaseModel):
    """Documentation only: responses are built as dicts and not re-validated."""

    flowId: str | None
    status: str
    type: str | None
    flow: list[dict[str, Any]]
    createdAt: str
    error: str | None = None
    statusCode: int | None = None


class StepStory(BaseModel):
    trackingId: str
    role: str
    status: str
    channel: str
    phone_number: str
    created_at: str | None = None
    detailed_status: str | None = None
    price: float | None = None
    latency_ms: int | None = None
    country: str | None = None
    operator: str | None = None
    sent_at: str | None = None
    delivered_at: str | None = None
    error_message: str | None = None
    failover_from_message_token: str | None = None
    label: str | None = None
    flowId: str | None = None


class FlowStory(BaseModel):
    flowId: str
    status: str
    statusCode: int | None
    total_cost: float
    steps: list[StepStory]


class Delivery(StepStory):
    flow_status: str | None = None


class DeliveryPage(BaseModel):
    total: int
    totalExact: bool = Field(
        description="false when there were more matches than FOTP_LIST_COUNT_LIMIT: the count "
        "stopped there, total is that limit, and only those deliveries can be paged through"
    )
    limit: int
    offset: int
    results: list[Delivery]
