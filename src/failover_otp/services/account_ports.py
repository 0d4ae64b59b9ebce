"""The storage ports of who may use the service and what they did: applications and their
tokens, operators and their roles, dashboard sessions, the audit trail (see ``ports.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from failover_otp.domain.accounts import Application, Grant, Operator, SessionRow, WebhookSecrets
from failover_otp.domain.audit import AuditEntry


class Applications(Protocol):
    """API clients, their hashed secrets and access tokens, and service-wide values."""

    async def create(self, app: Application) -> None: ...

    async def get(self, app_id: str) -> Application | None: ...

    async def all(self) -> list[Application]: ...

    async def set_secret_hash(self, app_id: str, secret_hash: str) -> bool: ...

    async def webhook_secret(self, app_id: str, default: str) -> str | None:
        """The application's signing secret, ``default`` stored first if it has none."""
        ...

    async def webhook_secrets(self, app_id: str, default: str) -> WebhookSecrets | None: ...

    async def rotate_webhook_secret(
        self, app_id: str, new_secret: str, previous_until: datetime | None
    ) -> bool: ...

    async def add_token(self, token_hash: str, app_id: str, expires_at: datetime) -> None: ...

    async def token_owner(self, token_hash: str, now: datetime) -> str | None:
        """The enabled application whose unexpired token this is."""
        ...

    async def set_disabled(self, app_id: str, disabled: bool) -> bool: ...

    async def purge_expired_tokens(self, now: datetime) -> int: ...

    async def state_value(self, key: str, default: str) -> str:
        """The service-wide value ``key``; the first caller's ``default`` is kept."""
        ...

    async def forget_state_value(self, key: str) -> None: ...


class OperatorAccounts(Protocol):
    """Dashboard users and their role per application."""

    async def add(self, operator: Operator) -> None: ...

    async def by_username(self, username: str) -> Operator | None: ...

    async def all(self) -> list[tuple[Operator, list[Grant]]]: ...

    async def grants(self, operator_id: str) -> list[Grant]: ...

    async def set_role(self, operator_id: str, application_id: str, role: str | None) -> None:
        """Give a role (None: take it away, and end the operator's sessions there)."""
        ...

    async def set_disabled(self, operator_id: str, disabled: bool) -> None: ...

    async def set_password_hash(self, operator_id: str, password_hash: str) -> None: ...

    async def rehash(self, operator_id: str, old_hash: str, new_hash: str) -> None: ...


class DashboardSessionRecords(Protocol):
    """Server-side dashboard sessions: good while their application, secret or operator's role
    still holds (checked on every read)."""

    async def open(
        self,
        token_hash: str,
        application_id: str,
        *,
        operator_id: str | None,
        secret_hash: str | None,
        now: datetime,
        expires_at: datetime,
    ) -> None: ...

    async def find(self, token_hash: str, now: datetime) -> SessionRow | None: ...

    async def end(self, token_hash: str) -> None: ...

    async def switch(self, token_hash: str, application_id: str) -> None: ...

    async def take_sign_in_attempt(self, username: str, now: datetime, limit: int) -> bool: ...

    async def give_back_sign_in_attempt(self, username: str, now: datetime) -> None: ...


class AuditEntries(Protocol):
    async def add(self, entry: AuditEntry) -> None: ...

    async def recent(
        self,
        *,
        application_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first."""
        ...
