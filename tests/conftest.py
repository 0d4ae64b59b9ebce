"""Fixtures shared by every test tier."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support import postgres as pg

# The tiers (CONTRIBUTING.md): a test's folder decides its tier marker and its time limit, so
# neither can be forgotten. Limits fit the tier on a loaded 2-core machine, fixture set-up
# included; a test that needs longer says so itself (@pytest.mark.timeout, e.g. the scale-out
# tests), and `pytest --timeout N` overrides them all (e.g. 0 while debugging).
TIERS: dict[str, tuple[str, int]] = {
    "unit": ("unit", 30),
    "property": ("property", 60),  # hypothesis draws many examples
    "integration": ("integration", 120),
    "e2e": ("e2e", 300),
    "browser": ("browser", 300),
}
TESTS_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    explicit_timeout = config.getoption("timeout", None) is not None
    for item in items:
        folder = item.path.relative_to(TESTS_DIR).parts[0]
        if folder not in TIERS:
            raise pytest.UsageError(
                f"{item.nodeid}: every test lives in a tier folder ({', '.join(TIERS)})"
            )
        marker, seconds = TIERS[folder]
        item.add_marker(marker)
        if not explicit_timeout and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(seconds))


# CI explores the same examples on every run, so a landing never hinges on a lucky draw;
# local runs keep drawing new ones (and remember failures in .hypothesis/).
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pg.PostgresServer]:
    with pg.postgres_server() as server:
        if server is None:
            pytest.skip(pg.SKIP_REASON)
        yield server


@pytest.fixture
def postgres_url(postgres_server: pg.PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database."""
    with pg.fresh_database(postgres_server.base_url) as url:
        yield url


def _migrate(database_url: str) -> None:
    from failover_otp.store.migrate import upgrade  # not for the unit tier: imports SQLAlchemy

    pg.run_sync(upgrade(database_url))


# Migrating an empty database runs every Alembic revision: ~0.2 s on SQLite and ~1 s on
# PostgreSQL on a quiet machine, for each of hundreds of tests. The schema is made once per
# run (per xdist worker) and copied: a file copy on SQLite, CREATE DATABASE ... TEMPLATE on
# PostgreSQL.
@pytest.fixture(scope="session")
def sqlite_at_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "head.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_at_head(postgres_server: pg.PostgresServer) -> Iterator[str]:
    """The name of a database migrated to head, the template of ``database_url``'s."""
    url = pg.create_database(postgres_server.base_url)
    try:
        _migrate(url)
        yield pg.database_name(url)
    finally:
        pg.drop_database(url, base_url=postgres_server.base_url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A fresh, empty database on each backend (for tests of the migrations themselves)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db')}/failover-otp.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def sqlite_url_at_head(tmp_path_factory: pytest.TempPathFactory, sqlite_at_head: Path) -> str:
    """A fresh SQLite database with the schema at head and no rows."""
    path = tmp_path_factory.mktemp("db") / "failover-otp.db"
    with closing(sqlite3.connect(sqlite_at_head)) as source, closing(sqlite3.connect(path)) as copy:
        source.backup(copy)
    return f"sqlite:///{path}"


@pytest.fixture
def postgresql_url_at_head(
    postgres_server: pg.PostgresServer, postgres_at_head: str
) -> Iterator[str]:
    """A fresh PostgreSQL database with the schema at head and no rows."""
    with pg.fresh_database(postgres_server.base_url, template=postgres_at_head) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database on each backend with the schema at head and no rows: what `migrate`
    makes (migrating it again is a quick no-op)."""
    url: str = request.getfixturevalue(f"{request.param}_url_at_head")
    return url
