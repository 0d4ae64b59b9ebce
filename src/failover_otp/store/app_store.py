"""Applications (API clients), their hashed secrets and access tokens, and service-wide values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from failover_otp.domain.accounts import Application, WebhookSecrets
from failover_otp.store.database import Database
from failover_otp.store.tables import access_tokens, applications, service_state

# access_tokens x applications by primary keys (store/tables.py); the same SQL on both backends.
_OWNER_QUERY = (
    "SELECT t.application_id FROM access_tokens t"
    " JOIN applications a ON a.id = t.application_id"
    " WHERE t.token_hash = {0} AND t.expires_at > {1} AND NOT a.disabled"
)


class AppStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, app: Application) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                insert(applications).values(
                    id=app.id,
                    name=app.name,
                    secret_hash=app.secret_hash,
                    created_at=app.created_at,
                    disabled=app.disabled,
                    webhook_secret=app.webhook_secret,
                )
            )

    async def get(self, app_id: str) -> Application | None:
        async with self.db.read() as conn:
            row = (
                (await conn.execute(select(applications).where(applications.c.id == app_id)))
                .mappings()
                .first()
            )
        return Application(**row) if row else None

    async def all(self) -> list[Application]:
        async with self.db.read() as conn:
            rows = (
                (await conn.execute(select(applications).order_by(applications.c.created_at)))
                .mappings()
                .all()
            )
        return [Application(**r) for r in rows]

    async def set_secret_hash(self, app_id: str, secret_hash: str) -> bool:
        async with self.db.write() as conn:
            result = await conn.execute(
                update(applications)
                .where(applications.c.id == app_id)
                .values(secret_hash=secret_hash)
            )
            # A new secret ends every session opened with the old one.
            await conn.execute(
                delete(access_tokens).where(access_tokens.c.application_id == app_id)
            )
        return result.rowcount == 1

    async def webhook_secret(self, app_id: str, default: str) -> str | None:
        """The application's webhook signing secret, storing ``default`` first if it has none
        (None: no such application). Concurrent first calls agree on one stored value."""
        query = select(applications.c.webhook_secret, applications.c.id).where(
            applications.c.id == app_id
        )
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        if row.webhook_secret:
            return str(row.webhook_secret)
        async with self.db.write() as conn:
            await conn.execute(
                update(applications)
                .where(applications.c.id == app_id, applications.c.webhook_secret.is_(None))
                .values(webhook_secret=default)
            )
            stored = (await conn.execute(query)).first()
        return str(stored.webhook_secret) if stored and stored.webhook_secret else None

    async def webhook_secrets(self, app_id: str, default: str) -> WebhookSecrets | None:
        """The application's webhook secret (``default`` stored first if it has none) and the
        one before the last rotation (None: no such application)."""
        query = select(
            applications.c.webhook_secret,
            applications.c.webhook_secret_previous,
            applications.c.webhook_secret_previous_until,
        ).where(applications.c.id == app_id)
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        current = row.webhook_secret or await self.webhook_secret(app_id, default)
        if current is None:
            return None
        return WebhookSecrets(
            current, row.webhook_secret_previous, row.webhook_secret_previous_until
        )

    async def rotate_webhook_secret(
        self, app_id: str, new_secret: str, previous_until: datetime | None
    ) -> bool:
        """Replace the webhook secret; the old one keeps signing until ``previous_until`` (None:
        it stops at once). One statement: the old value moves aside as the new one lands, so
        concurrent rotations cannot lose a secret that is still signing. Only one previous
        secret is kept: rotating again within a window ends the older one."""
        values: dict[str, Any] = {
            "webhook_secret": new_secret,
            "webhook_secret_previous": applications.c.webhook_secret if previous_until else None,
            "webhook_secret_previous_until": previous_until,
        }
        async with self.db.write() as conn:
            result = await conn.execute(
                update(applications).where(applications.c.id == app_id).values(**values)
            )
        return result.rowcount == 1

    async def add_token(self, token_hash: str, app_id: str, expires_at: datetime) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                insert(access_tokens).values(
                    token_hash=token_hash, application_id=app_id, expires_at=expires_at
                )
            )

    async def token_owner(self, token_hash: str, now: datetime) -> str | None:
        """The application of an unexpired token, if that application is enabled: one indexed
        read (two primary keys), asked on every request so a change is seen at once. It runs
        on every authenticated request, so through the driver (``Database.read_row``)."""
        row = await self.db.read_row(
            _OWNER_QUERY.format("$1", "$2"),
            _OWNER_QUERY.format("?", "?"),
            token_hash,
            self.db.stored_time(now),
        )
        return str(row[0]) if row is not None else None

    async def set_disabled(self, app_id: str, disabled: bool) -> bool:
        """Disable (or enable again) an application. Disabling ends its tokens at once: they
        are deleted, and a token is only honoured for an enabled application anyway."""
        async with self.db.write() as conn:
            result = await conn.execute(
                update(applications).where(applications.c.id == app_id).values(disabled=disabled)
            )
            if disabled:
                await conn.execute(
                    delete(access_tokens).where(access_tokens.c.application_id == app_id)
                )
        return result.rowcount == 1

    async def purge_expired_tokens(self, now: datetime) -> int:
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(access_tokens).where(access_tokens.c.expires_at <= now)
            )
        return int(result.rowcount)

    async def state_value(self, key: str, default: str) -> str:
        """The stored value for ``key``, storing ``default`` first if there is none."""
        async with self.db.read() as conn:
            value = (
                await conn.execute(select(service_state.c.value).where(service_state.c.key == key))
            ).scalar()
        if value is not None:
            return str(value)
        async with self.db.write() as conn:
            existing = (
                await conn.execute(select(service_state.c.value).where(service_state.c.key == key))
            ).scalar()
            if existing is not None:
                return str(existing)
            await conn.execute(insert(service_state).values(key=key, value=default))
        return default

    async def forget_state_value(self, key: str) -> None:
        """Delete a stored value (a key now kept outside the database)."""
        async with self.db.write() as conn:
            await conn.execute(delete(service_state).where(service_state.c.key == key))
