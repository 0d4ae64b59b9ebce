"""Migration 0011 fills the receiving host of events already pending, so the per-host bound
covers them after an upgrade."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, insert, select

from failover_otp.store.database import engine_for
from failover_otp.store.migrate import alembic_config, upgrade
from failover_otp.store.tables import webhook_outbox


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: an empty database, not one at head."""
    return empty_database_url


def _before_0011(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "0011-1")


async def test_pending_events_get_their_host(database_url: str) -> None:
    engine = engine_for(database_url, exclusive=True)
    now = datetime.now(UTC)
    rows = [
        ("e1", "pending", "https://Hooks.Example.com/a"),
        ("e2", "pending", "http://127.0.0.1:8080/b"),
        ("e3", "delivered", "https://old.example.com/c"),
    ]
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_before_0011)
            # Only the columns the schema has before 0011.
            for event_id, status, url in rows:
                await conn.execute(
                    insert(webhook_outbox).values(
                        event_id=event_id,
                        flow_id="f-" + event_id,
                        application_id="app",
                        url=url,
                        body="{}",
                        status=status,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        await upgrade(database_url)
        async with engine.connect() as conn:
            hosts = dict(
                (
                    await conn.execute(
                        select(webhook_outbox.c.event_id, webhook_outbox.c.target_host)
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    assert hosts == {"e1": "hooks.example.com:443", "e2": "127.0.0.1:8080", "e3": None}
