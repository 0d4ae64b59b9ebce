"""An id prefix as a range of the id's index (store/listing_filters.py): the same ids as "starts
with", including prefixes ending in "f" (the range's end carries) and in a dash."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select

from failover_otp.store.listing_filters import prefix_range

IDS = [
    "ab3f0000-0000-4000-8000-000000000000",
    "ab3fffff-ffff-4fff-bfff-ffffffffffff",
    "ab400000-0000-4000-8000-000000000000",
    "ab3e9999-0000-4000-8000-000000000000",
    "ffffffff-ffff-4fff-bfff-ffffffffffff",
    "12345678-9abc-4def-8123-456789abcdef",
    *(str(uuid.UUID(int=n * 0x1234567 + 7)) for n in range(200)),
]


@pytest.mark.parametrize(
    "prefix", ["ab3f", "ab3", "ab3ff", "ffffffff", "ffffffff-", "12345678-9a", "0", "f", "abcdef"]
)
def test_the_range_holds_exactly_the_ids_that_start_with_the_prefix(prefix: str) -> None:
    table = Table("t", MetaData(), Column("id", String(36), primary_key=True))
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": i} for i in IDS])
        found = {
            row.id
            for row in conn.execute(select(table.c.id).where(prefix_range(table.c.id, prefix)))
        }
    assert found == {i for i in IDS if i.startswith(prefix)}
