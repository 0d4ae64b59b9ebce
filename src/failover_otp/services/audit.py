"""The audit trail of what admins did: secret rotations, operator and role changes, purges,
exports. Actors are ``operator:<username>``, ``application:<id>`` (signed in to the dashboard
with the application's secret) or ``cli:<os user>``. Details never hold a secret."""

from __future__ import annotations

import getpass
import json
from typing import Any

from failover_otp.domain.audit import AuditEntry
from failover_otp.services.account_ports import AuditEntries
from failover_otp.services.clock import Clock


def cli_actor() -> str:
    """Who runs this command, as the operating system knows them."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container without /etc/passwd entry)
        return "cli:unknown"


class AuditTrail:
    def __init__(self, store: AuditEntries, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def record(
        self, actor: str, action: str, *, application_id: str | None = None, **detail: Any
    ) -> None:
        text = json.dumps(detail, sort_keys=True, default=str) if detail else None
        await self.store.add(
            AuditEntry(
                at=self.clock.now(),
                actor=actor[:100],
                action=action,
                application_id=application_id,
                detail=text,
            )
        )

    async def recent(self, *, application_id: str, limit: int) -> list[AuditEntry]:
        """The application's latest entries, newest first."""
        return await self.store.recent(application_id=application_id, limit=limit)
