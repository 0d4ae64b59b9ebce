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
    url: HttpUrl = Field(
        description="https URL on a public address that receives the flow's changes, signed"
    )
    strategy: CallbackStrategy = Field(
        default=CallbackStrategy.ON_CHANGE,
        description="`OnChange`: every change; `OnCompletion`: once, when the flow has ended",
    )

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
    body: str = Field(min_length=1, max_length=2000, description="the text")
    flash: bool = Field(default=False, description="a flash SMS (shown, not stored)")
    label: str | None = Field(default=None, max_length=350, description="the message's label")
    transcode: bool | None = Field(
        default=None, description="let Routee replace characters outside GSM-7"
    )


class FailoverSmsStep(_Step):
    type: Literal["Sms"] = Field(description="an SMS")
    from_: str = Field(alias="from", pattern=SENDER_ID, description="sender id")
    to: PhoneText = Field(description="E.164 number, with or without the leading +")
    message: SmsContent = Field(description="what the SMS says")
    ttl: int = Field(
        default=SMS_TTL_DEFAULT, ge=SMS_TTL_MINUTES[0], le=SMS_TTL_MINUTES[1], description="minutes"
    )
    label: str | None = Field(default=None, max_length=350, description="your tag for the step")


class ViberAction(_Strict):
    caption: str = Field(min_length=1, max_length=30, description="the button's label")
    targetUrl: HttpUrl = Field(description="where the button leads")


class ViberFile(_Strict):
    fileName: str = Field(min_length=1, max_length=25, description="the name the phone shows")
    fileType: str = Field(min_length=1, max_length=10, description="its extension, e.g. pdf")
    fileUrl: HttpUrl = Field(description="where Viber fetches the file")


class ViberVideo(PassThrough):
    # Routee names the attachment but not its fields: kept as given (within the bounds of
    # PassThrough), only the URL is required.

    videoUrl: HttpUrl = Field(description="where Viber fetches the video")
    thumbnailUrl: HttpUrl | None = Field(default=None, description="its preview image")
    fileSize: int | None = Field(default=None, ge=0, description="bytes")
    duration: int | None = Field(default=None, ge=0, description="seconds")


class FailoverViberStep(_Step):
    type: Literal["Viber"] = Field(description="a Viber business message")
    to: PhoneText = Field(description="E.164 number, with or without the leading +")
    senderInfoTrackingId: str = Field(min_length=1, max_length=200, description="sender id")
    ttl: float = Field(
        default=VIBER_TTL_DEFAULT,
        ge=VIBER_TTL_MINUTES[0],
        le=VIBER_TTL_MINUTES[1],
        description="minutes, one decimal place",
    )
    text: str | None = Field(
        default=None, min_length=1, max_length=1000, description="the message's text"
    )
    imageUrl: HttpUrl | None = Field(default=None, description="an https image to show")
    action: ViberAction | None = Field(default=None, description="a button")
    viberFile: ViberFile | None = Field(default=None, description="a file attachment")
    viberVideo: ViberVideo | None = Field(default=None, description="a video attachment")
    label: str | None = Field(default=None, max_length=350, description="your tag for the step")
    inboundUrl: HttpUrl | None = Field(
        default=None, description="https URL for the user's replies (kept, passed to Routee)"
    )
    expireOnDelivery: bool = Field(
        default=False,
        description="expire the message when delivered but not seen within ttl (then fail over)",
    )

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
    phone: str = Field(min_length=1, max_length=32, description="the number to call, E.164")


class SayMessage(_Strict):
    language: str = Field(min_length=2, max_length=10, description="e.g. en-US")
    gender: Literal["male", "female"] = Field(default="female", description="the voice")
    text: str = Field(min_length=1, max_length=2000, description="what the call says")

    @field_validator("gender", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class SayVerb(_Strict):
    type: Literal["SAY"] = Field(description="speak a text")
    repeat: int = Field(default=1, ge=1, le=10, description="how many times")
    bargeIn: bool = Field(default=False, description="a key press interrupts it")
    message: SayMessage = Field(description="what to say, and how")


class PlayVerb(_Strict):
    type: Literal["PLAY"] = Field(description="play an audio file")
    repeat: int = Field(default=1, ge=1, le=10, description="how many times")
    fileURL: HttpUrl = Field(description="the audio file")
    bargeIn: bool = Field(default=False, description="a key press interrupts it")


Verb = Annotated[SayVerb | PlayVerb, Field(discriminator="type")]


class DialPlan(_Strict):
    verbs: list[Verb] = Field(
        min_length=1, max_length=20, description="what the call does, in order"
    )


class FailoverVoiceStep(_Step):
    type: Literal["Voice"] = Field(description="a voice call")
    from_: str = Field(
        alias="from", pattern=r"^\+?[0-9]{1,16}$|^[A-Za-z0-9 ]{1,11}$", description="caller id"
    )
    to: VoiceDestination | PhoneText = Field(
        description="{phone} object, or the number as a string"
    )
    dialPlan: DialPlan = Field(description="what the call says or plays")


FailoverStep = Annotated[
    FailoverSmsStep | FailoverViberStep | FailoverVoiceStep, Field(discriminator="type")
]


class SendStandardFailoverRequest(_Strict):
    flow: list[FailoverStep] = Field(
        min_length=1, max_length=MAX_STEPS, description="the steps, tried in `order`"
    )
    callback: FailoverCallback | None = Field(default=None, description="where changes go")


class SendStandardFailoverResponse(BaseModel):
    """Documentation only: responses are built as dicts and not re-validated."""

    trackingId: str = Field(description="the flow's id, for GET /failover/tracking/{id}")
    flow: list[dict[str, Any]] = Field(
        description="the steps as requested, with their defaults filled in"
    )
    callback: dict[str, Any] | None = Field(default=None, description="the callback, if any")
    createdAt: str = Field(description="when the flow was created, ISO-8601 UTC")


class SearchFilter(BaseModel):
    """One filter of ``POST /failover/tracking``; values are checked by the route, so every
    mistake gets the same clear 422."""

    # A number given as a JSON number (``"searchTerm": 306912345671``) is read as its digits.
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    fieldName: str = Field(
        max_length=64, description="`type`, `to`, `status` or `terminationChannel`"
    )
    searchOperator: str | None = Field(
        default=None,
        max_length=32,
        description="`is` (default) or `is_not`; for `to` also `contains`, `starts_with`, "
        "`ends_with`",
    )
    searchTerm: str = Field(
        max_length=200,
        description="`Sms`, `Viber`, `Voice` (type, terminationChannel); `Queued`, `InProgress`, "
        "`Succeeded`, `Failed` (status); digits (to)",
    )


class StatusReason(BaseModel):
    detailedStatus: str | None = Field(default=None, description="the provider's detail")
    description: str | None = Field(default=None, description="what it means, for people")


class MessageStatus(BaseModel):
    name: str = Field(description="the status in the channel's words (`EXPIRED`, `Delivered`)")
    reason: StatusReason = Field(description="why")
    updatedDate: str | None = Field(default=None, description="when it was reported")


class TrackingMessage(BaseModel):
    """The union of the three message shapes; which keys appear depends on ``type``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="`Sms`, `Viber` or `Voice`")
    order: int = Field(description="the step's position in the flow")
    failoverOnStatuses: list[str] = Field(description="statuses that hand over to the next step")
    createdAt: str | None = Field(default=None, description="when the message was created")
    status: MessageStatus = Field(description="the message's status")


class Tracking(BaseModel):
    trackingId: str = Field(description="the flow's id")
    messages: list[TrackingMessage] = Field(description="one per step sent, in order")
    terminationChannel: str | None = Field(
        description="the channel that ended the flow: `Sms`, `Viber`, `Voice`"
    )
    status: str = Field(description="`Queued`, `InProgress`, `Succeeded` or `Failed`")
    statusCode: int | None = Field(description="when `Failed`, why (as in FlowStory)")
    totalPrice: float = Field(description="the sum of the messages' prices")
    originatingService: str = Field(description="`FailoverOtp` or `Failover`: which API")
    applicationId: str = Field(description="the application that sent the flow")
    createdAt: str = Field(description="when the flow was created, ISO-8601 UTC")
    updatedAt: str = Field(description="when it last changed")


class TrackingPage(BaseModel):
    content: list[Tracking] = Field(description="this page's flows, newest first")
    totalPages: int = Field(description="pages of `size` the matches fill")
    totalElements: int = Field(description="flows matching (see totalElementsExact)")
    totalElementsExact: bool = Field(
        description="false when there were more matches than FOTP_LIST_COUNT_LIMIT: the count "
        "stopped there, and totalElements/totalPages cover the matches that can be paged through"
    )
    number: int = Field(description="this page's index, from 0")
    size: int = Field(description="the page size")
    numberOfElements: int = Field(description="flows on this page")
    first: bool = Field(description="whether this is the first page")
    last: bool = Field(description="whether this is the last page")
