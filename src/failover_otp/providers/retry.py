"""Retries with capped exponential backoff and full jitter, for sends that cannot double."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from failover_otp.providers.base import ProviderUnavailable

T = TypeVar("T")


async def retry_unavailable(
    attempt: Callable[[], Awaitable[T]],
    *,
    attempts: int = 4,
    base_delay: float = 0.05,
    max_delay: float = 2.0,
) -> T:
    """Run ``attempt`` until it stops raising :class:`ProviderUnavailable` or attempts run out.

    Only ``ProviderUnavailable`` is retried: it means the provider did not take the message, so
    another try cannot send it twice.
    """
    for number in range(1, attempts + 1):
        try:
            return await attempt()
        except ProviderUnavailable:
            if number == attempts:
                raise
            cap = min(max_delay, base_delay * 2 ** (number - 1))
            await asyncio.sleep(random.uniform(0, cap))
    raise AssertionError("unreachable")
