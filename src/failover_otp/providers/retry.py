"""The retry of a provider send: only when the provider cannot have taken the message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from failover_otp.providers.base import ProviderUnavailable
from failover_otp.retrying import Backoff, retry

T = TypeVar("T")

# 4 tries, 50 ms, 100 ms, 200 ms apart (+ up to 50 ms of jitter): a provider's brief hiccup
# (a 429 or 503, a refused connection) is ridden out within the request that sends.
SEND_BACKOFF = Backoff(attempts=4, wait_initial=0.05, wait_max=2.0, wait_jitter=0.05)


async def retry_unavailable(
    attempt: Callable[[], Awaitable[T]], *, backoff: Backoff = SEND_BACKOFF
) -> T:
    """Run ``attempt`` until it stops raising :class:`ProviderUnavailable` or ``backoff`` runs
    out. Only ``ProviderUnavailable`` is retried: it means the provider did not take the message,
    so another try cannot send it twice. A ``Retry-After`` the provider sent replaces the wait."""
    return await retry(attempt, on=ProviderUnavailable, backoff=backoff, wait_for=_asked_wait)


def _asked_wait(error: ProviderUnavailable) -> float | None:
    return error.retry_after
