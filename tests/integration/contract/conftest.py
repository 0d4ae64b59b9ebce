"""The storage contract: the same cases on the in-memory twins (store/memory*.py), SQLite and
PostgreSQL, through the ports only (services/storage.Storage)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from tests.support.memory_storage import memory_storage

from failover_otp.services.storage import Storage
from failover_otp.store.database import Database
from failover_otp.store.sql_storage import sql_storage


@dataclass
class Backend:
    name: str
    storage: Storage


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """Every port on a fresh, empty store of each kind (a database at head: tests/conftest.py)."""
    if request.param == "memory":
        yield Backend("memory", memory_storage())
        return
    url: str = request.getfixturevalue(f"{request.param}_url_at_head")
    db = Database(url)
    try:
        yield Backend(request.param, sql_storage(db, purge_batch=2))
    finally:
        await db.dispose()


@pytest.fixture
def storage(backend: Backend) -> Storage:
    return backend.storage
