"""Fixtures shared by every test tier."""

from __future__ import annotations

import os
from collections.abc import Iterator
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
    with pg.fresh_database(postgres_server.base_url) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db')}/failover-otp.db"
    url: str = request.getfixturevalue("postgres_url")
    return url
