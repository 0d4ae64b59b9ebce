"""Routee access tokens: cached until shortly before expiry, renewed once for all callers.

Routee documents that a client must fetch a new token on any 401/403 and repeat the request
(reference §1.2); it does not say how long to keep one. We keep a token until
``expires_in - min(60 s, 10 % of expires_in)`` so a request never leaves with a token about to
die, and a 2-second test token is still reused for 1.8 s. Renewal is single-flight: an
``asyncio.Lock`` plus the *stale* token each caller saw means fifty requests that hit a 401
together cause one token request, not fifty. The fetch itself is injected, so this module has
no HTTP in it and is unit-tested with a fake clock.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from failover_otp.providers.base import ProviderUnavailable

MAX_MARGIN_SECONDS = 60.0
MARGIN_FRACTION = 0.1


@dataclass(frozen=True, slots=True)
class TokenGrant:
    access_token: str
    expires_in: float  # seconds; math.inf for tokens that never expire


@dataclass(frozen=True, slots=True)
class _Cached:
    token: str
    usable_until: float  # clock value after which the token is renewed before use


def usable_for(expires_in: float) -> float:
    """Seconds a token granted for ``expires_in`` seconds is used before it is renewed."""
    if math.isinf(expires_in):
        return expires_in
    margin = min(MAX_MARGIN_SECONDS, MARGIN_FRACTION * expires_in)
    return max(0.0, expires_in - margin)


def parse_grant(payload: Any) -> TokenGrant:
    """Read a token response; ``token_type`` may be ``Bearer`` or ``bearer``, ``expires_in`` absent.

    Raises:
        ProviderUnavailable: the answer carries no usable access token.
    """
    if not isinstance(payload, dict):
        raise ProviderUnavailable("Routee's token endpoint answered without a JSON object")
    token = payload.get("access_token")
    if not isinstance(token, str) or not token:
        raise ProviderUnavailable("Routee's token endpoint answered without an access_token")
    token_type = payload.get("token_type")
    if isinstance(token_type, str) and token_type.lower() != "bearer":
        raise ProviderUnavailable(f"Routee granted an unsupported token type {token_type!r}")
    raw_expiry = payload.get("expires_in")
    expires_in = math.inf
    if isinstance(raw_expiry, int | float) and not isinstance(raw_expiry, bool):
        expires_in = float(raw_expiry)
    elif isinstance(raw_expiry, str):
        try:
            expires_in = float(raw_expiry)
        except ValueError:
            expires_in = math.inf
    return TokenGrant(token, expires_in)


class TokenCache:
    """One application's current access token."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[TokenGrant]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._cached: _Cached | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def token(self) -> str:
        """A token that is not about to expire, fetching one if needed."""
        cached = self._cached
        if cached is not None and self._clock() < cached.usable_until:
            return cached.token
        return await self._renew(stale=cached.token if cached else None)

    async def refresh(self, stale: str) -> str:
        """A token other than ``stale``, which Routee just refused (401/403)."""
        return await self._renew(stale=stale)

    def forget(self) -> None:
        self._cached = None

    async def _renew(self, *, stale: str | None) -> str:
        async with self._lock:
            cached = self._cached
            # Another caller renewed while we waited for the lock: use its token.
            if cached is not None and cached.token != stale and self._clock() < cached.usable_until:
                return cached.token
            asked_at = self._clock()
            grant = await self._fetch()
            self.fetches += 1
            self._cached = _Cached(grant.access_token, asked_at + usable_for(grant.expires_in))
            return grant.access_token
