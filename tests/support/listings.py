"""The listings port over stored flows, on each implementation the contract tests hold to the same
results: in memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import pytest

from failover_otp.domain.flow import Flow
from failover_otp.domain.records import FlowMeta, FlowRecord
from failover_otp.services.ports import Listings
from failover_otp.store.database import Database
from failover_otp.store.flow_store import FlowStore
from failover_otp.store.listing import FEW_STEPS, ListingStore
from failover_otp.store.memory_listing import MemoryListings
from failover_otp.store.migrate import upgrade

MEMORY = "memory"
# The implementations, as a fixture's params: the in-memory twin, then a URL's database.
BACKENDS = [MEMORY, "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def backend_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``MEMORY``, or a fresh database's URL, for a fixture parametrised with ``BACKENDS``."""
    if request.param == MEMORY:
        return MEMORY
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db')}/failover-otp.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@asynccontextmanager
async def listings_over(
    backend: str, flows: Sequence[tuple[Flow, FlowMeta]], *, few_steps: int = FEW_STEPS
) -> AsyncIterator[Listings]:
    """Listings of ``flows``, stored on ``backend`` (``MEMORY`` or a database URL)."""
    if backend == MEMORY:
        records = [FlowRecord(flow, meta) for flow, meta in flows]
        yield MemoryListings(lambda: records)
        return
    await upgrade(backend)
    db = Database(backend)
    try:
        store = FlowStore(db)
        for flow, meta in flows:
            await store.create(flow, meta)
        yield ListingStore(db, few_steps=few_steps)
    finally:
        await db.dispose()
