"""Applications and OAuth2 client-credentials tokens, mirroring Routee's authentication.

Secrets and tokens are 256-bit random values, so a single SHA-256 is a sound way to store them:
there is nothing to brute-force that a slow hash would protect. Only hashes reach the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from failover_otp.domain.accounts import Application, WebhookSecrets
from failover_otp.services.account_ports import Applications
from failover_otp.services.clock import Clock
from failover_otp.webhook_signing import generate_secret

# The longest a rotated-out webhook secret keeps signing beside the new one.
MAX_WEBHOOK_SECRET_OVERLAP = timedelta(days=7)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Credentials:
    application_id: str
    application_secret: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


class AuthService:
    def __init__(self, store: Applications, clock: Clock, *, token_ttl_seconds: int = 3600) -> None:
        self.store = store
        self.clock = clock
        self.token_ttl_seconds = token_ttl_seconds

    async def create_application(self, name: str) -> Credentials:
        app_id = secrets.token_hex(12)  # 24 hex digits, like Routee's application ids
        secret = secrets.token_urlsafe(32)
        await self.store.create(
            Application(
                id=app_id,
                name=name,
                secret_hash=digest(secret),
                created_at=self.clock.now(),
                webhook_secret=generate_secret(),
            )
        )
        return Credentials(app_id, secret)

    async def rotate_secret(self, app_id: str) -> Credentials | None:
        secret = secrets.token_urlsafe(32)
        if not await self.store.set_secret_hash(app_id, digest(secret)):
            return None
        return Credentials(app_id, secret)

    async def webhook_secret(self, app_id: str) -> str | None:
        """The key the application's webhooks are signed with (made on first use if missing)."""
        return await self.store.webhook_secret(app_id, generate_secret())

    async def webhook_secrets(self, app_id: str) -> WebhookSecrets | None:
        return await self.store.webhook_secrets(app_id, generate_secret())

    async def signing_secrets(self, app_id: str) -> list[str] | None:
        """The secrets a webhook is signed with now: the current one, and the previous one
        during a rotation's overlap window (None: no such application). Read for every
        attempt, so a rotation applies to the next webhook in every process."""
        found = await self.webhook_secrets(app_id)
        return found.signing(self.clock.now()) if found is not None else None

    async def rotate_webhook_secret(self, app_id: str, overlap: timedelta) -> WebhookSecrets | None:
        """A new webhook secret; the old one keeps signing too for ``overlap`` (0: not at all).
        Returns the new state (None: no such application)."""
        if not timedelta(0) <= overlap <= MAX_WEBHOOK_SECRET_OVERLAP:
            raise ValueError(f"the overlap must be between 0 and {MAX_WEBHOOK_SECRET_OVERLAP}")
        until = self.clock.now() + overlap if overlap else None
        if not await self.store.rotate_webhook_secret(app_id, generate_secret(), until):
            return None
        return await self.webhook_secrets(app_id)

    async def issue_token(self, app_id: str, secret: str) -> IssuedToken | None:
        app = await self.store.get(app_id)
        if app is None or app.disabled or not hmac.compare_digest(app.secret_hash, digest(secret)):
            return None
        token = secrets.token_urlsafe(32)
        expires_at = self.clock.now() + timedelta(seconds=self.token_ttl_seconds)
        await self.store.add_token(digest(token), app_id, expires_at)
        return IssuedToken(token, self.token_ttl_seconds)

    async def set_disabled(self, app_id: str, disabled: bool) -> bool:
        """Disable or enable an application (False: no such application)."""
        return await self.store.set_disabled(app_id, disabled)

    async def application_for(self, token: str) -> str | None:
        """The application a bearer token belongs to, or None if unknown, expired, revoked (the
        secret was rotated) or its application is disabled.

        Asked of the database on every request, with no in-process cache: disabling or rotating
        takes effect at once in every process (docs/security.md has the measured cost).
        """
        return await self.store.token_owner(digest(token), self.clock.now())
