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

from failover_otp.services.clock import Clock
from failover_otp.store.app_store import Application, AppStore
from failover_otp.webhook_signing import generate_secret


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
    def __init__(self, store: AppStore, clock: Clock, *, token_ttl_seconds: int = 3600) -> None:
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
