"""Create or upgrade the schema with Alembic; safe to run from several processes at once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

from failover_otp.store.database import engine_for
from failover_otp.store.dialect import dialect_of

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest revision (a test checks it against Alembic's head). A schema already there needs no
# Alembic at all: `serve` then never imports it (~10 MB of resident memory and 0.1 s of start).
HEAD_REVISION = "0016"
# Any constant works: every migrating process takes the same PostgreSQL advisory lock.
_MIGRATION_LOCK_ID = 0x0F07_0001


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _at_head(connection: Connection) -> bool:
    if not connection.dialect.has_table(connection, "alembic_version"):
        return False
    versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    return list(versions) == [HEAD_REVISION]


def _upgrade(connection: Connection) -> None:
    if dialect_of(connection).advisory_locks:
        # Serialises concurrent `migrate` runs; released when this transaction ends.
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    if _at_head(connection):
        return
    from alembic import command

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
