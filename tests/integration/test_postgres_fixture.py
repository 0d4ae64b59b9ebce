"""The test-support helpers that find or start PostgreSQL and make throwaway databases."""

from __future__ import annotations

import http.server
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

# Until pytest puts the project root on sys.path (`pythonpath = ["."]` in its settings), make
# `tests.support` importable however this file is collected.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support import postgres as pg  # noqa: E402
from tests.support.ports import (  # noqa: E402
    free_port,
    port_is_open,
    wait_for_http,
    wait_for_http_async,
)


async def _check_database(url: str) -> None:
    """The database is ours, empty, UTF8, and takes pg_trgm."""
    conn = await asyncpg.connect(pg.asyncpg_dsn(url))
    try:
        assert await conn.fetchval("SELECT current_database()") == pg.database_name(url)
        assert await conn.fetchval("SHOW server_encoding") == "UTF8"
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        assert await conn.fetchval("SELECT similarity('viber', 'viber')") == 1.0
        await conn.execute("CREATE TABLE t (name text)")
        await conn.execute("CREATE INDEX t_name_trgm ON t USING gin (name gin_trgm_ops)")
    finally:
        await conn.close()


async def _database_exists(base_url: str, name: str) -> bool:
    conn = await asyncpg.connect(pg.asyncpg_dsn(base_url))
    try:
        found = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await conn.close()
    return found is not None


async def _round_trip(base_url: str) -> None:
    url = await pg.create_database_async(base_url)
    name = pg.database_name(url)
    assert name.startswith(pg.TEST_DB_PREFIX)
    assert await _database_exists(base_url, name)
    await _check_database(url)
    # An open connection does not stop the drop.
    lingering = await asyncpg.connect(pg.asyncpg_dsn(url))
    try:
        await pg.drop_database_async(url)
    finally:
        await lingering.close()
    assert not await _database_exists(base_url, name)


@pytest.fixture(scope="module")
def local_server() -> pg.PostgresServer:
    if pg.server_problem(pg.LOCAL_URL) is not None:
        pytest.skip("no PostgreSQL with trust auth on 127.0.0.1:5432")
    return pg.PostgresServer(base_url=pg.LOCAL_URL, kind="local", port=5432)


@pytest.fixture(scope="module")
def temporary_server() -> Iterator[pg.PostgresServer]:
    if pg.find_postgres_bindir() is None:
        pytest.skip(f"no PostgreSQL binaries: {pg.SKIP_REASON}")
    with pg.postgres_server(force_temporary=True) as server:
        assert server is not None
        yield server


# ------------------------------------------------------------------ the server on 5432


@pytest.mark.postgres
async def test_local_server_database_round_trip(local_server: pg.PostgresServer) -> None:
    await _round_trip(local_server.base_url)


@pytest.mark.postgres
def test_find_postgres_prefers_a_throwaway_cluster_to_the_local_server(
    local_server: pg.PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    if pg.find_postgres_bindir() is None:
        pytest.skip(f"no PostgreSQL binaries: {pg.SKIP_REASON}")
    monkeypatch.delenv(pg.ENV_URL, raising=False)
    monkeypatch.delenv(pg.ENV_FORCE_TEMPORARY, raising=False)
    with pg.postgres_server() as server:
        assert server is not None
        assert server.kind == "temporary"
        assert server.port != 5432


@pytest.mark.postgres
def test_find_postgres_uses_the_local_server_without_binaries(
    local_server: pg.PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg, "find_postgres_bindir", lambda: None)
    monkeypatch.delenv(pg.ENV_URL, raising=False)
    monkeypatch.delenv(pg.ENV_FORCE_TEMPORARY, raising=False)
    with pg.postgres_server() as server:
        assert server is not None
        assert server.kind == "local"
        assert server.base_url == pg.LOCAL_URL


@pytest.mark.postgres
def test_sync_fresh_database_with_pg_trgm(local_server: pg.PostgresServer) -> None:
    with pg.fresh_database(local_server.base_url, extensions=["pg_trgm"]) as url:
        name = pg.database_name(url)
        assert pg.run_sync(_database_exists(local_server.base_url, name))
        pg.run_sync(_check_database(url))
    assert not pg.run_sync(_database_exists(local_server.base_url, name))


# ------------------------------------------------------------------ a throwaway cluster


@pytest.mark.postgres
def test_temporary_cluster_is_separate_and_trusting(
    temporary_server: pg.PostgresServer,
) -> None:
    assert temporary_server.kind == "temporary"
    assert temporary_server.port is not None
    assert temporary_server.port != 5432
    assert temporary_server.data_dir is not None
    assert (temporary_server.data_dir / "PG_VERSION").is_file()
    assert pg.server_problem(temporary_server.base_url) is None


@pytest.mark.postgres
async def test_temporary_cluster_database_round_trip(
    temporary_server: pg.PostgresServer,
) -> None:
    await _round_trip(temporary_server.base_url)


@pytest.mark.postgres
async def test_fresh_database_async_with_pg_trgm(temporary_server: pg.PostgresServer) -> None:
    async with pg.fresh_database_async(temporary_server.base_url, extensions=["pg_trgm"]) as url:
        conn = await asyncpg.connect(pg.asyncpg_dsn(url))
        try:
            installed = await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        finally:
            await conn.close()
        assert installed == 1
    assert not await _database_exists(temporary_server.base_url, pg.database_name(url))


@pytest.mark.postgres
def test_env_url_wins_and_is_used_as_is(
    temporary_server: pg.PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(pg.ENV_URL, temporary_server.base_url)
    monkeypatch.delenv(pg.ENV_FORCE_TEMPORARY, raising=False)
    with pg.postgres_server() as server:
        assert server is not None
        assert server.kind == "env"
        assert server.base_url == temporary_server.base_url
    # Stopping an env server leaves it running.
    assert pg.server_problem(temporary_server.base_url) is None


@pytest.mark.postgres
def test_env_url_that_does_not_answer_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pg.ENV_URL, f"postgresql://postgres@127.0.0.1:{free_port()}/postgres")
    monkeypatch.delenv(pg.ENV_FORCE_TEMPORARY, raising=False)
    with pytest.raises(pg.PostgresUnavailable, match=pg.ENV_URL):
        pg.find_postgres()


@pytest.mark.postgres
def test_forced_temporary_cluster_starts_and_is_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    if pg.find_postgres_bindir() is None:
        pytest.skip(f"no PostgreSQL binaries: {pg.SKIP_REASON}")
    monkeypatch.setenv(pg.ENV_FORCE_TEMPORARY, "1")
    monkeypatch.setenv(pg.ENV_URL, pg.LOCAL_URL)  # ignored when forced
    with pg.postgres_server() as server:
        assert server is not None
        assert server.kind == "temporary"
        assert server.data_dir is not None
        assert server.port is not None
        root, port = server.data_dir.parent, server.port
        if os.geteuid() == 0:
            assert root.stat().st_uid != 0  # PostgreSQL refuses to run as root
        with pg.fresh_database(server.base_url, extensions=["pg_trgm"]) as url:
            pg.run_sync(_check_database(url))
    assert not root.exists()
    assert not port_is_open("127.0.0.1", port)


# ------------------------------------------------------------------ pure helpers


def test_url_helpers() -> None:
    url = "postgresql+asyncpg://u:p@db.example:6543/postgres?sslmode=disable"
    assert pg.with_database(url, "fotp_test_x") == (
        "postgresql+asyncpg://u:p@db.example:6543/fotp_test_x?sslmode=disable"
    )
    assert pg.asyncpg_dsn(url).startswith("postgresql://u:p@db.example:6543/")
    assert pg.database_name(url) == "postgres"
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        pg.asyncpg_dsn("sqlite:///x.db")


def test_drop_refuses_non_test_databases() -> None:
    with pytest.raises(ValueError, match="not a test database"):
        pg.drop_database("postgresql://postgres@127.0.0.1:5432/postgres")


def test_missing_server_means_none_or_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg, "find_postgres_bindir", lambda: None)
    monkeypatch.delenv(pg.ENV_REQUIRED, raising=False)
    assert pg.find_postgres(force_temporary=True) is None
    monkeypatch.setenv(pg.ENV_REQUIRED, "1")
    with pytest.raises(pg.PostgresUnavailable, match="no PostgreSQL server"):
        pg.find_postgres(force_temporary=True)


# ------------------------------------------------------------------ ports


class _Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(204 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()


def test_wait_for_http_any_answer_and_expected_status(http_port: int) -> None:
    assert wait_for_http(f"http://127.0.0.1:{http_port}/nope", 5).status_code == 404
    assert wait_for_http(f"http://127.0.0.1:{http_port}/health", 5, expect_status=204)
    with pytest.raises(TimeoutError, match="HTTP 404"):
        wait_for_http(f"http://127.0.0.1:{http_port}/nope", 0.3, expect_status=200)


async def test_wait_for_http_async_times_out_on_closed_port() -> None:
    port = free_port()
    assert not port_is_open("127.0.0.1", port)
    with pytest.raises(TimeoutError, match="no HTTP answer"):
        await wait_for_http_async(f"http://127.0.0.1:{port}/", 0.3)
