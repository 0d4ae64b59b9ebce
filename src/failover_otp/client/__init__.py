"""A typed Python client of the failover-otp HTTP API, synchronous and asynchronous (httpx).

Both clients take the service's base URL and an application's credentials, handle the access
token themselves (cached until shortly before it expires, renewed when the service answers 401),
and retry what is safe to retry: GETs, the read-only tracking search, and sends, which always
carry an ``Idempotency-Key`` so the service never sends one twice. Answers are typed models
(:mod:`failover_otp.client.models`); errors raise a subclass of :class:`ApiClientError` per
documented answer (:mod:`failover_otp.client.errors`). See ``docs/api.md`` for examples.

    from failover_otp.client import FailoverOtpClient

    with FailoverOtpClient("http://127.0.0.1:8080", app_id, app_secret) as api:
        sent = api.send_otp("+306912345671", label="login")
        story = api.wait_for_flow(sent.flowId)
        print(story.status, story.total_cost)
"""

from failover_otp.client._async import AsyncFailoverOtpClient
from failover_otp.client._core import NO_RETRY, RetryPolicy, viber_sms_payload
from failover_otp.client._sync import FINAL_STATUSES, FailoverOtpClient
from failover_otp.client.errors import (
    ApiClientError,
    ApiConnectionError,
    CountryNotAllowed,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    MalformedRequest,
    NotFound,
    NumberTypeNotAllowed,
    RateLimited,
    ServerError,
    SpendCapReached,
    Unauthorized,
    ValidationFailed,
)
from failover_otp.client.models import (
    Delivery,
    DeliveryPage,
    FlowStory,
    Health,
    Inbox,
    InboxMessage,
    SendAnswer,
    StandardSendAnswer,
    StepStory,
    Tracking,
    TrackingMessage,
    TrackingPage,
    VerifyResult,
    WebhookSecret,
)

__all__ = [
    "FINAL_STATUSES",
    "NO_RETRY",
    "ApiClientError",
    "ApiConnectionError",
    "AsyncFailoverOtpClient",
    "CountryNotAllowed",
    "Delivery",
    "DeliveryPage",
    "FailoverOtpClient",
    "FlowStory",
    "Health",
    "IdempotencyInProgress",
    "IdempotencyKeyReused",
    "Inbox",
    "InboxMessage",
    "MalformedRequest",
    "NotFound",
    "NumberTypeNotAllowed",
    "RateLimited",
    "RetryPolicy",
    "SendAnswer",
    "ServerError",
    "SpendCapReached",
    "StandardSendAnswer",
    "StepStory",
    "Tracking",
    "TrackingMessage",
    "TrackingPage",
    "Unauthorized",
    "ValidationFailed",
    "VerifyResult",
    "WebhookSecret",
    "viber_sms_payload",
]
