"""Dashboard sessions, kept server side (issue 15.8).

A session is good while its row exists, has not expired, its application is enabled, and either
(signed in with the application's secret) the secret is still the one it was opened with, or
(an operator) the operator is enabled and still has a role on the application. All of it is
checked by one read on every request, so signing out, disabling, rotating a secret or taking a
role away ends a session in every process at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, insert, or_, select, update

from failover_otp.domain.accounts import ADMIN, SessionRow
from failover_otp.store.counter_store import give_back_slot, take_slot
from failover_otp.store.database import Database
from failover_otp.store.tables import applications, dashboard_sessions, operator_roles, operators

# Failed operator sign-ins are counted per username in windows of this many seconds.
SIGN_IN_WINDOW = 900


class SessionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(
        self,
        token_hash: str,
        application_id: str,
        *,
        operator_id: str | None,
        secret_hash: str | None,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                insert(dashboard_sessions).values(
                    token_hash=token_hash,
                    application_id=application_id,
                    operator_id=operator_id,
                    secret_hash=secret_hash,
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    async def find(self, token_hash: str, now: datetime) -> SessionRow | None:
        s, a, o, r = dashboard_sessions, applications, operators, operator_roles
        query = (
            select(
                s.c.application_id,
                a.c.name,
                s.c.operator_id,
                o.c.username,
                r.c.role,
                s.c.expires_at,
            )
            .join(a, a.c.id == s.c.application_id)
            .outerjoin(o, o.c.id == s.c.operator_id)
            .outerjoin(r, and_(r.c.operator_id == s.c.operator_id, r.c.application_id == a.c.id))
            .where(
                s.c.token_hash == token_hash,
                s.c.expires_at > now,
                a.c.disabled.is_(False),
                or_(
                    and_(s.c.operator_id.is_(None), s.c.secret_hash == a.c.secret_hash),
                    and_(o.c.disabled.is_(False), r.c.role.is_not(None)),
                ),
            )
        )
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return SessionRow(
            application_id=row.application_id,
            application_name=row.name,
            operator_id=row.operator_id,
            username=row.username,
            role=row.role or ADMIN,
            expires_at=row.expires_at,
        )

    async def end(self, token_hash: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                delete(dashboard_sessions).where(dashboard_sessions.c.token_hash == token_hash)
            )

    async def switch(self, token_hash: str, application_id: str) -> None:
        """Point an operator's session at another application (their role there is checked on
        every request, by :meth:`find`)."""
        async with self.db.write() as conn:
            await conn.execute(
                update(dashboard_sessions)
                .where(
                    dashboard_sessions.c.token_hash == token_hash,
                    dashboard_sessions.c.operator_id.is_not(None),
                )
                .values(application_id=application_id)
            )

    async def take_sign_in_attempt(self, username: str, now: datetime, limit: int) -> bool:
        """Count a password check for ``username`` if fewer than ``limit`` were made in this
        window (one atomic upsert: concurrent guesses cannot pass the limit either)."""
        async with self.db.write() as conn:
            return await take_slot(conn, _attempts_key(username), SIGN_IN_WINDOW, now, limit)

    async def give_back_sign_in_attempt(self, username: str, now: datetime) -> None:
        """A right password is no failure: its attempt goes back."""
        async with self.db.write() as conn:
            await give_back_slot(conn, _attempts_key(username), SIGN_IN_WINDOW, now)


def _attempts_key(username: str) -> str:
    return f"signin:{username}"
