"""Create or upgrade the schema with Alembic; safe to run from several processes at once."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from failover_otp.store.database import engine_for

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works: every migrating process takes the same PostgreSQL advisory lock.
_MIGRATION_LOCK_ID = 0x0F07_0001


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Serialises concurrent `migrate` runs; released when this transaction ends.
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    command.upgrade(alembic_config(connection), "head")


async def upgrade(database_url: str) -> None:
    # On SQLite the transaction holds the write lock from its start, so a second concurrent
    # `migrate` waits and then finds the schema already at head.
    engine = engine_for(database_url, exclusive=True)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()
