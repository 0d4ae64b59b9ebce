"""A real ``failover-otp serve`` process (embedded sandbox, time scale 60) per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ApiSession, ServerProcess, create_application, serve_args


@pytest.fixture(scope="module")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def server(e2e_dir: Path) -> Iterator[ServerProcess]:
    database_url = f"sqlite:///{e2e_dir}/e2e.db"
    proc = ServerProcess(args=[], workdir=e2e_dir)
    proc.args = serve_args(proc.port, database_url)
    proc.env = {"FOTP_DATABASE_URL": database_url}
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[ApiSession]:
    app_id, secret = create_application(server.env["FOTP_DATABASE_URL"])
    session = ApiSession(server.url, app_id, secret)
    yield session
    session.close()
