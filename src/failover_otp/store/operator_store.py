"""Operators (people who use the dashboard), their roles per application, and their sessions'
removal when they lose access."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Delete, Select, delete, insert, select, update

from failover_otp.domain.accounts import Grant, Operator
from failover_otp.store.database import Database
from failover_otp.store.dialect import dialect_of
from failover_otp.store.tables import applications, dashboard_sessions, operator_roles, operators


class OperatorStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, operator: Operator) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                insert(operators).values(
                    id=operator.id,
                    username=operator.username,
                    password_hash=operator.password_hash,
                    created_at=operator.created_at,
                    disabled=operator.disabled,
                )
            )

    async def by_username(self, username: str) -> Operator | None:
        query = select(operators).where(operators.c.username == username)
        async with self.db.read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return Operator(**row) if row else None

    async def all(self) -> list[tuple[Operator, list[Grant]]]:
        async with self.db.read() as conn:
            rows = (
                (await conn.execute(select(operators).order_by(operators.c.username)))
                .mappings()
                .all()
            )
            grants = (await conn.execute(_grants_query())).all()
        by_operator: dict[str, list[Grant]] = {}
        for g in grants:
            by_operator.setdefault(g.operator_id, []).append(Grant(g.id, g.name, g.role))
        return [(Operator(**r), by_operator.get(r["id"], [])) for r in rows]

    async def grants(self, operator_id: str) -> list[Grant]:
        """The enabled applications the operator has a role on, by name."""
        query = _grants_query().where(
            operator_roles.c.operator_id == operator_id, applications.c.disabled.is_(False)
        )
        async with self.db.read() as conn:
            return [Grant(g.id, g.name, g.role) for g in (await conn.execute(query)).all()]

    async def set_role(self, operator_id: str, application_id: str, role: str | None) -> None:
        """Give the operator ``role`` on the application, or (None) take their access away."""
        where = (
            operator_roles.c.operator_id == operator_id,
            operator_roles.c.application_id == application_id,
        )
        async with self.db.write() as conn:
            if role is None:
                await conn.execute(delete(operator_roles).where(*where))
                return
            stmt = (
                dialect_of(conn)
                .insert(operator_roles)
                .values(operator_id=operator_id, application_id=application_id, role=role)
            )
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[operator_roles.c.operator_id, operator_roles.c.application_id],
                    set_={"role": role},
                )
            )

    async def set_disabled(self, operator_id: str, disabled: bool) -> None:
        """Disable (ending every session of theirs, in the same transaction) or enable."""
        async with self.db.write() as conn:
            await conn.execute(
                update(operators).where(operators.c.id == operator_id).values(disabled=disabled)
            )
            if disabled:
                await conn.execute(
                    delete(dashboard_sessions).where(
                        dashboard_sessions.c.operator_id == operator_id
                    )
                )

    async def set_password_hash(self, operator_id: str, password_hash: str) -> None:
        """A new password ends the operator's sessions (whoever knew the old one is signed out)."""
        async with self.db.write() as conn:
            await conn.execute(
                update(operators)
                .where(operators.c.id == operator_id)
                .values(password_hash=password_hash)
            )
            await conn.execute(_sessions_of(operator_id))

    async def rehash(self, operator_id: str, old_hash: str, new_hash: str) -> None:
        """Store a stronger hash of the same password (the hasher's parameters went up)."""
        async with self.db.write() as conn:
            await conn.execute(
                update(operators)
                .where(operators.c.id == operator_id, operators.c.password_hash == old_hash)
                .values(password_hash=new_hash)
            )


def _sessions_of(operator_id: str) -> Delete:
    return delete(dashboard_sessions).where(dashboard_sessions.c.operator_id == operator_id)


def _grants_query() -> Select[Any]:
    return (
        select(
            operator_roles.c.operator_id,
            applications.c.id,
            applications.c.name,
            operator_roles.c.role,
        )
        .join(applications, applications.c.id == operator_roles.c.application_id)
        .order_by(applications.c.name, applications.c.id)
    )
