"""Real ``failover-otp serve`` processes (time scale 60) in three set-ups: SQLite with the
embedded sandbox, PostgreSQL with the embedded sandbox, and SQLite with the real Routee provider
talking HTTP to a separate ``failover-otp sandbox`` process.

The three set-ups' servers are started once per test session (per pytest-xdist worker), all at
once, and shared by every module: starting a server costs seconds on a busy machine, and a test
needs a fresh application (``api``: one per module and set-up), not a fresh process. An
application sees only its own flows (spec/contract.md), so modules cannot see each other's.
A module that needs a server configured differently starts its own, on a database of its own
(``e2e_database_url``), never on the shared servers' databases: two workers on one database
would both run its deadlines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.shared_servers import SharedServers
from tests.support import postgres as pg
from tests.support.server import ApiSession, ServerProcess, create_application

# Heaviest first: with --no-loadscope-reorder (the Makefile) pytest-xdist hands out whole files
# in collection order, so the long ones start at once instead of keeping one worker busy after
# the others are done.
HEAVY_FIRST = ("test_scale_out.py", "test_schemathesis.py", "test_security_e2e.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def weight(item: pytest.Item) -> int:
        name = item.path.name
        return HEAVY_FIRST.index(name) if name in HEAVY_FIRST else len(HEAVY_FIRST)

    items.sort(key=weight)  # stable: the order inside a file and among the rest is kept


@pytest.fixture(scope="session")
def shared_servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SharedServers]:
    servers = SharedServers(tmp_path_factory.mktemp("e2e-shared"), request)
    try:
        yield servers
    finally:
        servers.stop()


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
    """A database of the module's own, for a server the module starts itself."""
    if e2e_setup != "postgresql":
        # One file per set-up: the sqlite and routee servers of a module must not share the
        # flows (and what is learnt from them) of the other.
        yield f"sqlite:///{e2e_dir}/e2e-{e2e_setup}.db"
        return
    server: pg.PostgresServer = request.getfixturevalue("postgres_server")
    with pg.fresh_database(server.base_url) as url:
        yield url


@pytest.fixture(scope="module")
def routee_sandbox(e2e_setup: str, shared_servers: SharedServers) -> ServerProcess | None:
    """The standalone wire sandbox, for the set-up that uses the real Routee provider."""
    if e2e_setup != "routee":
        return None
    shared_servers.get(e2e_setup)
    return shared_servers.sandbox


@pytest.fixture(scope="module")
def server(e2e_setup: str, shared_servers: SharedServers) -> ServerProcess:
    return shared_servers.get(e2e_setup)


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[ApiSession]:
    app_id, secret = create_application(server.env["FOTP_DATABASE_URL"])
    session = ApiSession(server.url, app_id, secret)
    yield session
    session.close()
