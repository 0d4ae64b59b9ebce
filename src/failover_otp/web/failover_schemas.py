"""Request and response models of the standard Failover API (``/failover``), as Routee documents
them (reference §3.1 to §3.4). Unknown step fields are refused, so a typo never passes silently."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from failover_otp.web.input_bounds import PassThrough, PhoneText, StatusText
from failover_otp.web.otp_schemas import SENDER_ID

# Routee documents ttl in minutes for standard steps (reference §3.1, §5.2).
SMS_TTL_MINUTES = (1, 1440)
SMS_TTL_DEFAULT = 1200
VIBER_TTL_MINUTES = (0.5, 1440.0)
VIBER_TTL_DEFAULT = 10.0
# Voice has no ttl upstream; the engine still needs to know when to stop waiting for a call's
# outcome. Five minutes covers ringing, the call and its report; a call still unreported then
# counts as NoAnswer (which is a default failover trigger).
VOICE_CALL_WINDOW_SECONDS = 300.0
MAX_STEPS = 10


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CallbackStrategy(StrEnum):
    ON_CHANGE = "OnChange"
    ON_COMPLETION = "OnCompletion"


class FailoverCallback(_Strict):
    url: HttpUrl
    strategy: CallbackStrategy = CallbackStrategy.ON_CHANGE

    @field_validator("strategy", mode="before")
    @classmethod
    def _any_casing(cls, value: Any) -> Any:
        if isinstance(value, str):
            for strategy in CallbackStrategy:
                if strategy.value.lower() == value.strip().lower():
                    return strategy
        return value


class _Step(_Strict):
    order: int = Field(ge=1, le=1000, description="position in the flow; unique")
    failoverOnStatuses: list[StatusText] | None = Field(
        default=None,
        max_length=10,
        description="statuses of this step that hand over to the next one (any casing)",
    )


class SmsContent(_Strict):
    body: str = Field(min_length=1, max_length=2000)
    flash: bool = False
    label: str | None = Field(default=None, max_length=350)
    transcode: bool | None = None


class FailoverSmsStep(_Step):
    type: Literal["Sms"]
    from_: str = Field(alias="from", pattern=SENDER_ID, description="sender id")
    to: PhoneText = Field(description="E.164 number, with or without the leading +")
    message: SmsContent
    ttl: int = Field(
        default=SMS_TTL_DEFAULT, ge=SMS_TTL_MINUTES[0], le=SMS_TTL_MINUTES[1], description="minutes"
    )
    label: str | None = Field(default=None, max_length=350)


class ViberAction(_Strict):
    caption: str = Field(min_length=1, max_length=30)
    targetUrl: HttpUrl


class ViberFile(_Strict):
    fileName: str = Field(min_length=1, max_length=25)
    fileType: str = Field(min_length=1, max_length=10)
    fileUrl: HttpUrl


class ViberVideo(PassThrough):
    # Routee names the attachment but not its fields: kept as given (within the bounds of
    # PassThrough), only the URL is required.

    videoUrl: HttpUrl
    thumbnailUrl: HttpUrl | None = None
    fileSize: int | None = Field(default=None, ge=0)
    duration: int | None = Field(default=None, ge=0)


class FailoverViberStep(_Step):
    type: Literal["Viber"]
    to: PhoneText = Field(description="E.164 number, with or without the leading +")
    senderInfoTrackingId: str = Field(min_length=1, max_length=200, description="sender id")
    ttl: float = Field(
        default=VIBER_TTL_DEFAULT,
        ge=VIBER_TTL_MINUTES[0],
        le=VIBER_TTL_MINUTES[1],
        description="minutes, one decimal place",
    )
    text: str | None = Field(default=None, min_length=1, max_length=1000)
    imageUrl: HttpUrl | None = None
    action: ViberAction | None = None
    viberFile: ViberFile | None = None
    viberVideo: ViberVideo | None = None
    label: str | None = Field(default=None, max_length=350)
    inboundUrl: HttpUrl | None = None
    expireOnDelivery: bool = False

    @field_validator("ttl")
    @classmethod
    def _one_decimal(cls, value: float) -> float:
        if abs(round(value, 1) - value) > 1e-9:
            raise ValueError("ttl takes at most one decimal place (minutes)")
        return round(value, 1)

    @field_validator("imageUrl", "inboundUrl")
    @classmethod
    def _https(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is not None and value.scheme != "https":
            raise ValueError("must be an https URL")
        return value

    @model_validator(mode="after")
    def _has_content(self) -> FailoverViberStep:
        if not (self.text or self.imageUrl or self.viberFile or self.viberVideo):
            raise ValueError("a Viber step needs text, imageUrl, viberFile or viberVideo")
        return self


class VoiceDestination(_Strict):
    phone: str = Field(min_length=1, max_length=32)


class SayMessage(_Strict):
    language: str = Field(min_length=2, max_length=10, description="e.g. en-US")
    gender: Literal["male", "female"] = "female"
    text: str = Field(min_length=1, max_length=2000)

    @field_validator("gender", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class SayVerb(_Strict):
    type: Literal["SAY"]
    repeat: int = Field(default=1, ge=1, le=10)
    bargeIn: bool = False
    message: SayMessage


class PlayVerb(_Strict):
    type: Literal["PLAY"]
    repeat: int = Field(default=1, ge=1, le=10)
    fileURL: HttpUrl
    bargeIn: bool = False


Verb = Annotated[SayVerb | PlayVerb, Field(discriminator="type")]


class DialPlan(_Strict):
    verbs: list[Verb] = Field(min_length=1, max_length=20)


class FailoverVoiceStep(_Step):
    type: Literal["Voice"]
    from_: str = Field(
        alias="from", pattern=r"^\+?[0-9]{1,16}$|^[A-Za-z0-9 ]{1,11}$", description="caller id"
    )
    to: VoiceDestination | PhoneText = Field(
        description="{phone} object, or the number as a string"
    )
    dialPlan: DialPlan


FailoverStep = Annotated[
    FailoverSmsStep | FailoverViberStep | FailoverVoiceStep, Field(discriminator="type")
]


class SendStandardFailoverRequest(_Strict):
    flow: list[FailoverStep] = Field(min_length=1, max_length=MAX_STEPS)
    callback: FailoverCallback | None = None


class SendStandardFailoverResponse(BaseModel):
    """Documentation only: responses are built as dicts and not re-validated."""

    trackingId: str
    flow: list[dict[str, Any]]
    callback: dict[str, Any] | None = None
    createdAt: str


class SearchFilter(BaseModel):
    """One filter of ``POST /failover/tracking``; values are checked by the route, so every
    mistake gets the same clear 422."""

    # A number given as a JSON number (``"searchTerm": 306912345671``) is read as its digits.
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    fieldName: str = Field(max_length=64)
    searchOperator: str | None = Field(default=None, max_length=32)
    searchTerm: str = Field(max_length=200)


class StatusReason(BaseModel):
    detailedStatus: str | None = None
    description: str | None = None


class MessageStatus(BaseModel):
    name: str
    reason: StatusReason
    updatedDate: str | None = None


class TrackingMessage(BaseModel):
    """The union of the three message shapes; which keys appear depends on ``type``."""

    model_config = ConfigDict(extra="allow")

    type: str
    order: int
    failoverOnStatuses: list[str]
    createdAt: str | None = None
    status: MessageStatus


class Tracking(BaseModel):
    trackingId: str
    messages: list[TrackingMessage]
    terminationChannel: str | None
    status: str
    statusCode: int | None
    totalPrice: float
    originatingService: str
    applicationId: str
    createdAt: str
    updatedAt: str


class TrackingPage(BaseModel):
    content: list[Tracking]
    totalPages: int
    totalElements: int
    totalElementsExact: bool = Field(
        description="false when there were more matches than FOTP_LIST_COUNT_LIMIT: the count "
        "stopped there, and totalElements/totalPages cover the matches that can be paged through"
    )
    number: int
    size: int
    numberOfElements: int
    first: bool
    last: bool
