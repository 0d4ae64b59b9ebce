"""A real ``failover-otp serve`` process (time scale 60) per test module, in three set-ups:
SQLite with the embedded sandbox, PostgreSQL with the embedded sandbox, and SQLite with the real
Routee provider talking HTTP to a separate ``failover-otp sandbox`` process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import postgres as pg
from tests.support.server import (
    ApiSession,
    ServerProcess,
    create_application,
    routee_env,
    serve_args,
)


@pytest.fixture(scope="module")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "routee"],
)
def e2e_setup(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def e2e_database_url(
    request: pytest.FixtureRequest, e2e_setup: str, e2e_dir: Path
) -> Iterator[str]:
    if e2e_setup != "postgresql":
        # One file per set-up: the sqlite and routee servers of a module must not share the
        # flows (and what is learnt from them) of the other.
        yield f"sqlite:///{e2e_dir}/e2e-{e2e_setup}.db"
        return
    server: pg.PostgresServer = request.getfixturevalue("postgres_server")
    with pg.fresh_database(server.base_url) as url:
        yield url


@pytest.fixture(scope="module")
def routee_sandbox(e2e_setup: str, e2e_dir: Path) -> Iterator[ServerProcess | None]:
    """The standalone wire sandbox, for the set-up that uses the real Routee provider."""
    if e2e_setup != "routee":
        yield None
        return
    proc = ServerProcess(args=[], workdir=e2e_dir, health_path="/_sandbox/sends")
    proc.args = ["sandbox", "--port", str(proc.port), "--time-scale", "60"]
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def server(
    e2e_dir: Path, e2e_database_url: str, routee_sandbox: ServerProcess | None
) -> Iterator[ServerProcess]:
    proc = ServerProcess(args=[], workdir=e2e_dir)
    proc.env = {"FOTP_DATABASE_URL": e2e_database_url}
    extra: list[str] = []
    if routee_sandbox is not None:
        extra = ["--provider", "routee"]
        proc.env.update(routee_env(routee_sandbox.url, proc.url))
    proc.args = serve_args(proc.port, e2e_database_url, *extra)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[ApiSession]:
    app_id, secret = create_application(server.env["FOTP_DATABASE_URL"])
    session = ApiSession(server.url, app_id, secret)
    yield session
    session.close()
