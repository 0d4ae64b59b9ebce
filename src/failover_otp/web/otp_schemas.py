"""Request and response models of the Failover OTP API (``/otp/...``), as Routee documents them."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from failover_otp.services.otp_requests import OTP_TTL_MAX_SECONDS
from failover_otp.web.input_bounds import PassThrough, PhoneText

SENDER_ID = r"^(?:[A-Za-z0-9 ]{1,11}|[0-9]{1,16})$"
STATUS_CODE = (
    "when `Failed`: 0 server error, 1 insufficient balance, 2 no next step, "
    "3 not failover triggered"
)


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
    url: HttpUrl = Field(
        description="https URL on a public address that receives every change of the flow, "
        "signed (docs/webhooks.md)"
    )


class _Step(PassThrough):
    # Template parameters beyond the documented ones pass through to the provider untouched
    # (within the bounds of input_bounds.PassThrough).
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    to: PhoneText | Annotated[list[PhoneText], Field(max_length=10)] = Field(
        description="E.164 number, with or without the leading +"
    )
    order: int = Field(ge=1, le=1000, description="position in the flow (steps go in this order)")
    ttl: Annotated[int, Field(ge=1, le=OTP_TTL_MAX_SECONDS)] | Literal["auto"] | None = Field(
        default=None,
        description="seconds this step gets before the next one is sent; `auto`: chosen from "
        "the service's delivery history within the application's bounds "
        "(docs/adaptive-failover.md); required unless the application made auto its default",
    )
    label: str | None = Field(
        default=None, max_length=350, description="your tag, for filtering (`tag=`) and reports"
    )


class ViberOtpStep(_Step):
    type: Literal["ViberOtp"] = Field(description="a Viber OTP template message")
    senderInfoTrackingId: str = Field(
        min_length=1, max_length=200, description="the Viber sender (business) registered at Routee"
    )
    templateId: str = Field(min_length=1, max_length=100, description="the Viber OTP template")
    templateLang: str = Field(
        default="en", min_length=2, max_length=10, description="the template's language"
    )
    pin: str | None = Field(
        default=None,
        pattern=r"^[0-9A-Za-z]{4,10}$",
        description=(
            "the code, 4-10 letters or digits; omit it (on every ViberOtp step) and the service "
            "generates one, to be checked with POST /otp/verify; SMS bodies say `{pin}` where "
            "the code goes"
        ),
    )
    templateType: TemplateType | None = Field(
        default=None, description="which of Viber's OTP templates, when it takes parameters"
    )
    businessName: str | None = Field(
        default=None,
        max_length=50,
        description="required by the templates that name the business",
    )
    failoverOnDelivered: bool = Field(
        default=False,
        description="send the next step also when Viber delivered but the message was not "
        "seen within ttl",
    )

    @model_validator(mode="after")
    def _template_params(self) -> ViberOtpStep:
        if self.templateType in _NEEDS_BUSINESS_NAME and not self.businessName:
            raise ValueError(f"businessName is required with templateType {self.templateType}")
        return self


class SmsMessage(PassThrough):
    body: str = Field(
        min_length=1,
        max_length=2000,
        description="the text; `{pin}` stands for the code the service generated",
    )
    flash: bool = Field(default=False, description="a flash SMS (shown, not stored)")
    transcode: bool | None = Field(
        default=None, description="let Routee replace characters outside GSM-7"
    )


class SmsStep(_Step):
    type: Literal["Sms"] = Field(description="an SMS")
    from_: str = Field(alias="from", pattern=SENDER_ID, description="sender id")
    message: SmsMessage = Field(description="what the SMS says")


OtpStep = Annotated[ViberOtpStep | SmsStep, Field(discriminator="type")]


class SendFailoverRequest(BaseModel):
    flow: list[OtpStep] = Field(
        min_length=1, max_length=10, description="the steps, tried one after the other"
    )
    callback: Callback | None = Field(default=None, description="where changes are posted")


class SendFailoverResponse(BaseModel):
    """Documentation only: responses are built as dicts and not re-validated."""

    flowId: str | None = Field(
        description="the flow's id (UUID) for tracking; null when no channel accepted it"
    )
    status: str = Field(description="`InProgress` once a channel accepted it, else `Failed`")
    type: str | None = Field(description="the channel that accepted it: `Viber` or `Sms`")
    flow: list[dict[str, Any]] = Field(
        description="the steps as requested (without the code), each with its `trackingId` "
        "once sent"
    )
    createdAt: str = Field(description="when the flow was created, ISO-8601 UTC")
    error: str | None = Field(default=None, description="why it failed, when `Failed`")
    statusCode: int | None = Field(default=None, description=STATUS_CODE)


class AutoTtlChoice(BaseModel):
    seconds: float = Field(description="the ttl the step waits for before failing over")
    reason: str = Field(description="how it was chosen (docs/adaptive-failover.md)")


class StepStory(BaseModel):
    trackingId: str = Field(description="the message's id (Routee's trackingId / messageId)")
    role: str = Field(description="`primary` (the first step) or `failover`")
    status: str = Field(
        description="the message's status as the seed words it: Viber upper-case (`EXPIRED`), "
        "SMS lower-case (`queued`, `delivered`, ...); a send in flight is queued"
    )
    channel: str = Field(description="`viber` or `sms`")
    phone_number: str = Field(description="the destination, E.164 digits")
    created_at: str | None = Field(default=None, description="when the step was opened")
    detailed_status: str | None = Field(default=None, description="the provider's detail")
    price: float | None = Field(default=None, description="what the message cost")
    latency_ms: int | None = Field(
        default=None, description="from sent to delivered, in real milliseconds"
    )
    country: str | None = Field(default=None, description="ISO 3166 alpha-2 of the number")
    operator: str | None = Field(default=None, description="the number's mobile operator")
    sent_at: str | None = Field(default=None, description="when the provider accepted it")
    delivered_at: str | None = Field(default=None, description="when it was delivered")
    error_message: str | None = Field(
        default=None, description="why the provider refused it (or the send failed)"
    )
    failover_from_message_token: str | None = Field(
        default=None, description="the `trackingId` of the step this one failed over from"
    )
    label: str | None = Field(default=None, description="the step's label")
    auto_ttl: AutoTtlChoice | None = Field(
        default=None,
        description='only on a step that asked for `"ttl": "auto"`, once its send was accepted: '
        "the ttl it was given and why",
    )
    flowId: str | None = Field(default=None, description="the flow the step belongs to")


class FlowStory(BaseModel):
    flowId: str = Field(description="the flow's id (UUID)")
    status: str = Field(description="`InProgress`, `Succeeded` or `Failed` (the whole flow)")
    statusCode: int | None = Field(description=STATUS_CODE)
    total_cost: float = Field(description="the sum of the steps' prices")
    steps: list[StepStory] = Field(
        description="the messages sent: `steps[0]` the primary attempt, then the failovers"
    )


class Delivery(StepStory):
    flow_status: str | None = Field(default=None, description="the status of the step's flow")


class DeliveryPage(BaseModel):
    total: int = Field(description="deliveries matching the filters (see totalExact)")
    totalExact: bool = Field(
        description="false when there were more matches than FOTP_LIST_COUNT_LIMIT: the count "
        "stopped there, total is that limit, and only those deliveries can be paged through"
    )
    limit: int = Field(description="the page size asked for")
    offset: int = Field(description="how many matches were skipped")
    results: list[Delivery] = Field(description="this page's deliveries, newest first")
