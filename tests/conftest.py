"""Fixtures shared by every test tier."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.support import postgres as pg

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
