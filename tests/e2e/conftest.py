"""A real ``failover-otp serve`` process (embedded sandbox, time scale 60) per test module,
once on SQLite and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import postgres as pg
from tests.support.server import ApiSession, ServerProcess, create_application, serve_args


@pytest.fixture(scope="module")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def e2e_database_url(request: pytest.FixtureRequest, e2e_dir: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{e2e_dir}/e2e.db"
        return
    server: pg.PostgresServer = request.getfixturevalue("postgres_server")
    with pg.fresh_database(server.base_url) as url:
        yield url


@pytest.fixture(scope="module")
def server(e2e_dir: Path, e2e_database_url: str) -> Iterator[ServerProcess]:
    proc = ServerProcess(args=[], workdir=e2e_dir)
    proc.args = serve_args(proc.port, e2e_database_url)
    proc.env = {"FOTP_DATABASE_URL": e2e_database_url}
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[ApiSession]:
    app_id, secret = create_application(server.env["FOTP_DATABASE_URL"])
    session = ApiSession(server.url, app_id, secret)
    yield session
    session.close()
