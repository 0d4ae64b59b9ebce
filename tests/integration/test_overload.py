"""Issue 15.10: overload is answered, not crashed; readiness sees failing writes.

- A send that finds no database connection (PostgreSQL's pool, SQLite's writer) within
  ``FOTP_DB_POOL_TIMEOUT_SECONDS`` answers 503 with Retry-After (it waited 30 s and answered 500).
- ``/health/live`` answers while the process does; ``/health/ready`` (and ``/health``) say not
  ready when writes fail for real: a PostgreSQL database set read-only, a full filesystem under
  SQLite (it said ok).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection
from tests.support import postgres as pg
from tests.support.asgi_app import InProcessApi, in_process_api
from tests.support.payloads import viber_sms_flow
from tests.support.waiting import wait_until_async

# Generous bounds for a busy machine: the answers come after the (short) pool timeout.
ANSWER_WITHIN = 60.0
POOL_TIMEOUT = 0.5


@contextlib.asynccontextmanager
async def _all_connections_taken(api: InProcessApi) -> AsyncIterator[None]:
    """Every connection a send could use is held by someone else (as by a burst of requests)."""
    db = api.services.db
    if db.is_sqlite:
        taken = asyncio.Event()
        release = asyncio.Event()

        async def hold_the_writer() -> None:
            async with db.write():
                taken.set()
                await release.wait()

        holder = asyncio.create_task(hold_the_writer())
        await taken.wait()
        try:
            yield
        finally:
            release.set()
            await holder
        return
    held: list[AsyncConnection] = []
    try:
        with contextlib.suppress(Exception):  # stops at the first checkout past the pool
            while True:
                held.append(await db.writer.connect())
        assert held, "the pool gave no connection at all"
        yield
    finally:
        for conn in held:
            await conn.close()


async def test_a_send_without_a_free_connection_is_503(database_url: str) -> None:
    async with in_process_api(
        database_url, db_pool_size=1, db_pool_timeout_seconds=POOL_TIMEOUT
    ) as api:
        async with _all_connections_taken(api):
            answer = await asyncio.wait_for(
                api.client.post("/otp/send-failover", json=viber_sms_flow(1)), ANSWER_WITHIN
            )
            assert answer.status_code == 503, answer.text
            assert answer.json()["code"] == "service_unavailable"
            assert answer.headers["retry-after"] == "1"
            ready = await asyncio.wait_for(api.client.get("/health/ready"), ANSWER_WITHIN)
            assert ready.status_code == 503
            live = await api.client.get("/health/live")
            assert (live.status_code, live.json()) == (200, {"status": "ok"})
        # Nothing was counted or stored for the refused send; the next one goes out.
        assert await api.stored() == {"flows": 0, "rate_counters": 0}
        answer = await api.client.post("/otp/send-failover", json=viber_sms_flow(1))
        assert answer.status_code == 200, answer.text
        await _poll(api.client, "/health/ready", lambda a: a.status_code == 200)


async def _poll(client: httpx.AsyncClient, path: str, done: Any) -> httpx.Response:
    """GET ``path`` until ``done(answer)``, within a generous bound."""

    async def answer_if_done() -> httpx.Response | None:
        answer = await client.get(path)
        return answer if done(answer) else None

    answer = await wait_until_async(answer_if_done, ANSWER_WITHIN, what=f"GET {path}")
    assert answer is not None
    return answer


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(pg.asyncpg_dsn(url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _sessions_ended(name: str) -> str:
    # New sessions pick the database's defaults up; the app's pool reconnects on its own.
    return (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608 (our own name)
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )


@pytest.mark.postgres
async def test_readiness_fails_while_postgresql_refuses_writes(
    postgres_server: pg.PostgresServer, postgres_url: str
) -> None:
    name = pg.database_name(postgres_url)
    async with in_process_api(postgres_url) as api:
        ready = await api.client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ok", "database": "ok", "writes": "ok"}
        await _admin(
            postgres_server.base_url,
            f'ALTER DATABASE "{name}" SET default_transaction_read_only = on',
            _sessions_ended(name),
        )
        try:
            answer = await _poll(
                api.client,
                "/health/ready",
                lambda a: a.status_code == 503 and a.json().get("database") == "ok",
            )
            assert answer.json()["writes"] == "unavailable"
            assert "read-only" in answer.json()["error"]
            assert (await api.client.get("/health")).status_code == 503
            assert (await api.client.get("/health/live")).status_code == 200
            # Sends fail with the database, as a 503 to retry, not a 500.
            sent = await api.client.post("/otp/send-failover", json=viber_sms_flow(1))
            assert sent.status_code == 503, sent.text
            assert sent.json()["code"] == "service_unavailable"
        finally:
            await _admin(
                postgres_server.base_url,
                f'ALTER DATABASE "{name}" RESET default_transaction_read_only',
                _sessions_ended(name),
            )
        await _poll(api.client, "/health/ready", lambda a: a.status_code == 200)


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB tmpfs: a disk that can really fill up. Mounting needs root (CAP_SYS_ADMIN)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(directory: Path) -> Path:
    """Write until the filesystem says it is full (ENOSPC)."""
    filler = directory / "filler"
    chunk = b"\0" * 2**20
    with filler.open("wb") as out:

        def write_until_full() -> None:
            while True:
                out.write(chunk)
                out.flush()

        with pytest.raises(OSError, match="No space left on device"):
            write_until_full()
    return filler


async def test_readiness_fails_on_a_full_disk_under_sqlite(small_filesystem: Path) -> None:
    url = f"sqlite:///{small_filesystem}/failover-otp.db"
    async with in_process_api(url, health_min_free_disk_mb=1) as api:
        ready = await api.client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        filler = await asyncio.to_thread(_fill, small_filesystem)
        try:
            answer = await api.client.get("/health/ready")
            assert answer.status_code == 503, answer.text
            body = answer.json()
            # The probe's write fails (SQLITE_FULL), or fits in pages already allocated and the
            # free-space check says it: either way, not ready.
            assert body.get("writes") == "unavailable" or body.get("disk") == "full", body
            assert (await api.client.get("/health")).status_code == 503
            assert (await api.client.get("/health/live")).status_code == 200
            # Sends on a full disk fit while WAL pages already allocated last, then are
            # refused: 503 to retry, never a 500.
            bodies = [viber_sms_flow(d, prefix="30691234560") for d in range(10)]
            codes = {
                (await api.client.post("/otp/send-failover", json=b)).status_code for b in bodies
            }
            assert 503 in codes
            assert codes <= {200, 503}
        finally:
            os.unlink(filler)
        await _poll(api.client, "/health/ready", lambda a: a.status_code == 200)
