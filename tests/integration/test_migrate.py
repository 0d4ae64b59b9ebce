"""`failover-otp migrate` is safe to run from several processes at once, on both backends."""

from __future__ import annotations

import os
import subprocess

import pytest
from sqlalchemy import inspect, text
from tests.support.server import COMMAND

from failover_otp.store.database import engine_for
from failover_otp.store.migrate import HEAD_REVISION, upgrade


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: an empty database, not one at head."""
    return empty_database_url


async def _schema(database_url: str) -> tuple[set[str], list[str]]:
    engine = engine_for(database_url)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            versions = [
                r[0] for r in await conn.execute(text("SELECT version_num FROM alembic_version"))
            ]
    finally:
        await engine.dispose()
    return tables, versions


async def test_concurrent_migrate_processes(database_url: str) -> None:
    runs = [
        subprocess.Popen(
            [COMMAND, "migrate", "--database-url", database_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(os.environ),
        )
        for _ in range(4)
    ]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err.decode()
    tables, versions = await _schema(database_url)
    assert {"flows", "steps", "deadlines", "applications", "access_tokens"} <= tables
    assert len(versions) == 1


async def test_migrate_twice_is_a_no_op(database_url: str) -> None:
    await upgrade(database_url)
    first = await _schema(database_url)
    await upgrade(database_url)
    assert await _schema(database_url) == first


def test_the_known_head_is_alembics_head() -> None:
    # `upgrade` skips Alembic when the schema is at HEAD_REVISION: it must be the newest one.
    from alembic.script import ScriptDirectory

    from failover_otp.store.migrate import alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD_REVISION]


async def test_a_schema_at_head_is_left_alone(database_url: str) -> None:
    await upgrade(database_url)
    before = await _schema(database_url)
    await upgrade(database_url)
    assert await _schema(database_url) == before
    assert before[1] == [HEAD_REVISION]
