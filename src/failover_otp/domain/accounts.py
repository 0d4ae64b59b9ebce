"""Who may use the service: applications (API clients) and their webhook secrets, operators
(people who use the dashboard), their roles per application, and dashboard sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Application:
    id: str
    name: str
    secret_hash: str
    created_at: datetime
    disabled: bool = False
    # Customer webhooks' signing secret (whsec_...); None until first needed (migration 0003).
    webhook_secret: str | None = None
    # The secret before the last rotation and when it stops signing (migration 0011).
    webhook_secret_previous: str | None = None
    webhook_secret_previous_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class WebhookSecrets:
    current: str
    # The secret before the last rotation, and until when it signs too.
    previous: str | None = None
    previous_until: datetime | None = None

    def signing(self, now: datetime) -> list[str]:
        """The secrets webhooks are signed with at ``now``: the current one first."""
        if self.previous and self.previous_until and self.previous_until > now:
            return [self.current, self.previous]
        return [self.current]


VIEWER = "viewer"


ADMIN = "admin"


ROLES = (VIEWER, ADMIN)


@dataclass(frozen=True, slots=True)
class Operator:
    id: str
    username: str
    password_hash: str
    created_at: datetime
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Grant:
    """An operator's role on one application."""

    application_id: str
    application_name: str
    role: str


@dataclass(frozen=True, slots=True)
class SessionRow:
    application_id: str
    application_name: str
    # None: signed in with the application's secret (which makes one its admin).
    operator_id: str | None
    username: str | None
    role: str
    expires_at: datetime
