"""Operator accounts: people who sign in to the dashboard as themselves (issue 17.11).

Passwords are hashed with argon2id (``argon2-cffi``, RFC 9106's low-memory profile: 64 MiB, 3
passes), off the event loop, at most two at a time per process so a burst of sign-ins cannot
exhaust memory or stall sends. A hash made with weaker parameters is replaced at the next
successful sign-in. An unknown username costs the same hash as a known one.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from failover_otp.domain.accounts import ROLES, Grant, Operator
from failover_otp.services.account_ports import Applications, OperatorAccounts
from failover_otp.services.clock import Clock

# NIST SP 800-63B rev. 4: at least 15 characters for a password used alone; a cap keeps hashing
# bounded.
MIN_PASSWORD = 15
MAX_PASSWORD = 256
USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
# Hashes computed at once per process (each takes 64 MiB and tens of milliseconds of a core).
HASHING_AT_ONCE = 2


class OperatorError(ValueError):
    """A refused operator change: unknown operator or application, bad name, role or password."""


@dataclass(frozen=True, slots=True)
class OperatorView:
    username: str
    disabled: bool
    grants: list[Grant]


def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise OperatorError(f"a password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters")


class OperatorService:
    def __init__(
        self,
        store: OperatorAccounts,
        apps: Applications,
        clock: Clock,
        *,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.store = store
        self.apps = apps
        self.clock = clock
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None
        self._hashing = asyncio.Semaphore(HASHING_AT_ONCE)

    async def _hash(self, password: str) -> str:
        async with self._hashing:
            return await asyncio.to_thread(self.hasher.hash, password)

    async def _verify(self, password_hash: str, password: str) -> bool:
        async with self._hashing:
            try:
                return await asyncio.to_thread(self.hasher.verify, password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

    async def add(self, username: str, password: str) -> Operator:
        name = normalise_username(username)
        if not USERNAME.fullmatch(name):
            raise OperatorError(
                "a username is 1-64 of a-z 0-9 . _ @ - (starting with a letter or digit)"
            )
        check_password(password)
        if await self.store.by_username(name) is not None:
            raise OperatorError(f"operator {name!r} exists")
        operator = Operator(
            id=secrets.token_hex(12),
            username=name,
            password_hash=await self._hash(password),
            created_at=self.clock.now(),
        )
        await self.store.add(operator)
        return operator

    async def get(self, username: str) -> Operator:
        operator = await self.store.by_username(normalise_username(username))
        if operator is None:
            raise OperatorError(f"no operator {normalise_username(username)!r}")
        return operator

    async def authenticate(self, username: str, password: str) -> Operator | None:
        """The enabled operator with this name and password, else None (same cost either way)."""
        if not username or not password or len(username) > 64 or len(password) > MAX_PASSWORD:
            return None
        operator = await self.store.by_username(normalise_username(username))
        if operator is None or operator.disabled:
            if self._dummy is None:
                self._dummy = await self._hash(secrets.token_urlsafe(16))
            await self._verify(self._dummy, password)
            return None
        if not await self._verify(operator.password_hash, password):
            return None
        if self.hasher.check_needs_rehash(operator.password_hash):
            new_hash = await self._hash(password)
            await self.store.rehash(operator.id, operator.password_hash, new_hash)
        return operator

    async def set_role(self, username: str, application_id: str, role: str | None) -> Operator:
        """Give ``role`` (viewer or admin) on an application, or None: take the access away."""
        if role is not None and role not in ROLES:
            raise OperatorError(f"a role is one of {', '.join(ROLES)}")
        operator = await self.get(username)
        if await self.apps.get(application_id) is None:
            raise OperatorError(f"no application {application_id!r}")
        await self.store.set_role(operator.id, application_id, role)
        return operator

    async def set_disabled(self, username: str, disabled: bool) -> Operator:
        operator = await self.get(username)
        await self.store.set_disabled(operator.id, disabled)
        return operator

    async def set_password(self, username: str, password: str) -> Operator:
        check_password(password)
        operator = await self.get(username)
        await self.store.set_password_hash(operator.id, await self._hash(password))
        return operator

    async def all(self) -> list[OperatorView]:
        return [OperatorView(o.username, o.disabled, g) for o, g in await self.store.all()]
