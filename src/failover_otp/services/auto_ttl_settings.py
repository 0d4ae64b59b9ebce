"""An application's own ``"ttl": "auto"`` settings, as ``apps auto-ttl`` sets or clears them
(docs/adaptive-failover.md); a send reads them through ``SendService``."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from failover_otp.domain.adaptive_ttl import AutoTtl, TtlPolicy
from failover_otp.services.clock import Clock


class TtlPolicyWrites(Protocol):
    async def set(self, application_id: str, policy: TtlPolicy, now: datetime) -> None: ...

    async def clear(self, application_id: str) -> bool:
        """Whether there were settings to remove."""
        ...


class AutoTtlSettings:
    def __init__(self, policies: TtlPolicyWrites, clock: Clock) -> None:
        self.policies = policies
        self.clock = clock

    async def set(self, application_id: str, bounds: AutoTtl, *, is_default: bool) -> None:
        """Auto ttls of the application's steps within ``bounds``; ``is_default``: a step that
        omits its ttl gets auto too."""
        await self.policies.set(application_id, TtlPolicy(bounds, is_default), self.clock.now())

    async def clear(self, application_id: str) -> bool:
        """Back to the service's own settings (FOTP_AUTO_TTL_*)."""
        return await self.policies.clear(application_id)
