"""Dashboard sign-in: server-side sessions for operators and for an application's secret.

The cookie holds 256 random bits; the database keeps their SHA-256 (``dashboard_sessions``), so
a copied database cannot be replayed as a cookie, and signing out deletes the row: a copy of the
cookie stops working at once, in every process. Each request checks the row, its expiry, the
application (enabled; for a secret sign-in, still the same secret) and, for an operator, that
they are enabled and still hold a role on the application (``store/session_store.py``).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from failover_otp.domain.accounts import ADMIN, Grant
from failover_otp.services.account_ports import Applications, DashboardSessionRecords
from failover_otp.services.auth import digest
from failover_otp.services.clock import Clock
from failover_otp.services.operators import OperatorService, normalise_username

DEFAULT_SESSION_SECONDS = 12 * 3600
DEFAULT_SIGN_IN_FAILURES = 20
_MAX_TOKEN = 128


class TooManySignIns(Exception):
    """The operator's failed sign-ins of this window are used up (a password-guessing bound)."""


@dataclass(frozen=True, slots=True)
class Session:
    application_id: str
    application_name: str
    username: str | None  # None: signed in with the application's secret
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def actor(self) -> str:
        """Who this is, as the audit trail names them."""
        if self.username is None:
            return f"application:{self.application_id}"
        return f"operator:{self.username}"


class DashboardSessions:
    def __init__(
        self,
        store: DashboardSessionRecords,
        apps: Applications,
        operators: OperatorService,
        clock: Clock,
        *,
        session_seconds: int = DEFAULT_SESSION_SECONDS,
        sign_in_failures: int = DEFAULT_SIGN_IN_FAILURES,
    ) -> None:
        self.store = store
        self.apps = apps
        self.operators = operators
        self.clock = clock
        self.session_seconds = session_seconds
        # Failed sign-ins per operator name per SIGN_IN_WINDOW; 0: no bound.
        self.sign_in_failures = sign_in_failures

    async def _open(
        self, application_id: str, *, operator_id: str | None, secret_hash: str | None
    ) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        await self.store.open(
            digest(token),
            application_id,
            operator_id=operator_id,
            secret_hash=secret_hash,
            now=now,
            expires_at=now + timedelta(seconds=self.session_seconds),
        )
        return token

    async def sign_in(self, app_id: str, secret: str) -> str | None:
        """A session for an application's id and secret (its admin), or None if they are wrong."""
        app_id, secret = app_id.strip(), secret.strip()
        if not app_id or not secret or len(app_id) > 64 or len(secret) > 256:
            return None
        app = await self.apps.get(app_id)
        if app is None or app.disabled or not hmac.compare_digest(app.secret_hash, digest(secret)):
            return None
        return await self._open(app.id, operator_id=None, secret_hash=app.secret_hash)

    async def sign_in_operator(self, username: str, password: str) -> str | None:
        """A session for an operator, on the first application they have a role on; None if the
        name or password is wrong, the operator is disabled or has no application.

        Each password check takes one of the name's failure slots first (known name or not, so
        the answer says nothing about which names exist); a right password gives it back.
        Raises :class:`TooManySignIns` when the slots of this window are used up."""
        name = normalise_username(username)[:64]
        now = self.clock.now()
        limit = self.sign_in_failures
        if limit and not await self.store.take_sign_in_attempt(name, now, limit):
            raise TooManySignIns(name)
        operator = await self.operators.authenticate(username, password)
        if operator is None:
            return None
        if limit:
            await self.store.give_back_sign_in_attempt(name, now)
        grants = await self.operators.store.grants(operator.id)
        if not grants:
            return None
        return await self._open(grants[0].application_id, operator_id=operator.id, secret_hash=None)

    async def session(self, token: str | None) -> Session | None:
        """The signed-in session of a cookie's token, if it is still good."""
        if not token or len(token) > _MAX_TOKEN:
            return None
        row = await self.store.find(digest(token), self.clock.now())
        if row is None:
            return None
        return Session(row.application_id, row.application_name, row.username, row.role)

    async def session_application(self, token: str | None) -> str | None:
        found = await self.session(token)
        return found.application_id if found else None

    async def sign_out(self, token: str | None) -> None:
        if token and len(token) <= _MAX_TOKEN:
            await self.store.end(digest(token))

    async def grants(self, session: Session) -> list[Grant]:
        """The applications an operator may switch to (none for a secret sign-in)."""
        if session.username is None:
            return []
        operator = await self.operators.store.by_username(session.username)
        return await self.operators.store.grants(operator.id) if operator else []

    async def switch(self, token: str, session: Session, application_id: str) -> bool:
        """Show another application the operator has a role on."""
        if not any(g.application_id == application_id for g in await self.grants(session)):
            return False
        await self.store.switch(digest(token), application_id)
        return True
