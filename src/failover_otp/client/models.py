"""What the client's methods return: the API's answers as typed, read-only models.

Field names are the API's own (``flowId``, ``total_cost``, ``phone_number``: the service keeps
Routee's mixed casing), so ``docs/api.md`` and the seeds read the same as code. Timestamps are
``datetime``. A typo (``story.stauts``) fails mypy, not production.

Compatibility with the dictionaries the client used to return: ``answer["flowId"]``,
``answer.get("label")`` and ``"x" in answer`` still work (on the JSON exactly as the service
sent it, also kept as ``answer.raw``), so code written before these models keeps running; new
code should use the attributes. Fields the service adds later are kept too (``model_extra``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, ModelWrapValidatorHandler, PrivateAttr, model_validator

VerifyStatus = Literal["approved", "wrong_code", "expired", "too_many_attempts", "already_used"]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        model = handler(data)
        if isinstance(data, dict):
            model._raw = data  # nested models too: story.steps[0]["status"] works
        return model

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """The model of one JSON answer (``pydantic.ValidationError`` if it does not fit)."""
        return cls.model_validate(data)

    @property
    def raw(self) -> dict[str, Any]:
        """The JSON object as the service sent it."""
        return self._raw

    # The dictionary interface of earlier versions (docs/api.md, "Compatibility").
    def __getitem__(self, key: str) -> Any:
        return self._raw[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._raw.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._raw


# -- POST /otp/send-failover -----------------------------------------------------------------


class SendAnswer(ApiModel):
    """The answer to a send: the flow started (or why it could not)."""

    flowId: str | None
    status: str
    type: str | None
    flow: list[dict[str, Any]]
    createdAt: datetime
    statusCode: int | None = None
    error: str | None = None


# -- GET /otp/failover/{id} and GET /otp/failover --------------------------------------------


# Step statuses (any casing) after which a final report is still to come.
_AWAITING_VERDICT = frozenset({"queued", "sent"})


class StepStory(ApiModel):
    """One message of a flow: the primary attempt or a failover."""

    trackingId: str
    role: str
    status: str
    channel: str
    phone_number: str
    created_at: datetime | None = None
    detailed_status: str | None = None
    price: float | None = None
    latency_ms: int | None = None
    country: str | None = None
    operator: str | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    error_message: str | None = None
    failover_from_message_token: str | None = None
    label: str | None = None
    flowId: str | None = None


class FlowStory(ApiModel):
    """A flow's delivery story."""

    flowId: str
    status: str
    statusCode: int | None = None
    total_cost: float = 0.0
    steps: list[StepStory] = []

    @property
    def ended(self) -> bool:
        return self.status in ("Succeeded", "Failed")

    @property
    def settled(self) -> bool:
        """Ended, and no step still waits for its verdict: an SMS ``Sent`` already makes its
        flow Succeeded (the seed's rule), and its Delivered or Undelivered may still follow and
        turn the flow Failed."""
        return self.ended and not any(s.status.lower() in _AWAITING_VERDICT for s in self.steps)


class Delivery(StepStory):
    """One row of the delivery list: a step, with its flow's status."""

    flow_status: str | None = None


class DeliveryPage(ApiModel):
    total: int
    totalExact: bool = True
    limit: int
    offset: int
    results: list[Delivery]


# -- POST /otp/verify ------------------------------------------------------------------------


class VerifyResult(ApiModel):
    flowId: str
    valid: bool
    status: VerifyStatus


# -- the standard Failover API ---------------------------------------------------------------


class StandardSendAnswer(ApiModel):
    """The answer to ``POST /failover``."""

    trackingId: str
    flow: list[dict[str, Any]]
    callback: dict[str, Any] | None = None
    createdAt: datetime


class StatusReason(ApiModel):
    detailedStatus: str | None = None
    description: str | None = None


class MessageStatus(ApiModel):
    name: str
    reason: StatusReason
    updatedDate: datetime | None = None


class TrackingMessage(ApiModel):
    """One message of a tracking; its other keys depend on ``type`` (``model_extra``)."""

    type: str
    order: int
    failoverOnStatuses: list[str] = []
    createdAt: datetime | None = None
    status: MessageStatus
    trackingId: str | None = None
    to: Any = None


class Tracking(ApiModel):
    trackingId: str
    messages: list[TrackingMessage]
    terminationChannel: str | None = None
    status: str
    statusCode: int | None = None
    totalPrice: float = 0.0
    originatingService: str
    applicationId: str
    createdAt: datetime
    updatedAt: datetime


class TrackingPage(ApiModel):
    content: list[Tracking]
    totalPages: int
    totalElements: int
    totalElementsExact: bool = True
    number: int
    size: int
    numberOfElements: int
    first: bool
    last: bool


# -- the rest --------------------------------------------------------------------------------


class WebhookSecret(ApiModel):
    applicationId: str
    webhookSecret: str
    signatureScheme: str
    # After `apps rotate-webhook-secret --overlap`: until when the previous secret signs too.
    previousSecretValidUntil: datetime | None = None


class Health(ApiModel):
    status: str
    database: str | None = None


class InboxMessage(ApiModel):
    """A message the sandbox's phone got (``GET /sandbox/inbox/{flowId}``)."""

    trackingId: str
    channel: str
    to: str
    text: str
    code: str | None = None
    status: str
    delivered: bool


class Inbox(ApiModel):
    flowId: str
    messages: list[InboxMessage]

    @property
    def code(self) -> str | None:
        """The code of the last delivered message that carried one."""
        codes = [m.code for m in self.messages if m.delivered and m.code]
        return codes[-1] if codes else None
