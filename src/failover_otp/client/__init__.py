"""A typed Python client of the failover-otp HTTP API, synchronous and asynchronous (httpx).

Both clients take the service's base URL and an application's credentials, handle the access
token themselves (cached until shortly before it expires, renewed when the service answers 401),
and retry what is safe to retry: GETs, the read-only tracking search, and sends, which always
carry an ``Idempotency-Key`` so the service never sends one twice. Errors raise
:class:`ApiClientError` (``status``, ``code``, ``body``). See ``docs/api.md`` for examples.

    from failover_otp.client import FailoverOtpClient

    with FailoverOtpClient("http://127.0.0.1:8080", app_id, app_secret) as api:
        sent = api.send_otp("+306912345671", pin="482913", label="login")
        story = api.wait_for_flow(sent["flowId"])
        print(story["status"], story["total_cost"])
"""

from failover_otp.client._async import AsyncFailoverOtpClient
from failover_otp.client._core import (
    NO_RETRY,
    ApiClientError,
    ApiConnectionError,
    RetryPolicy,
    viber_sms_payload,
)
from failover_otp.client._sync import FINAL_STATUSES, FailoverOtpClient

__all__ = [
    "FINAL_STATUSES",
    "NO_RETRY",
    "ApiClientError",
    "ApiConnectionError",
    "AsyncFailoverOtpClient",
    "FailoverOtpClient",
    "RetryPolicy",
    "viber_sms_payload",
]
