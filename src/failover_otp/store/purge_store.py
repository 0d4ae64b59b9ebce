"""Batched deletes of what has expired or outlived its retention (issue 15.9).

Every delete takes at most ``batch`` rows per transaction, chosen by primary key, so a purge
never holds SQLite's write lock or PostgreSQL's row locks for long: sends and the workers write
between two batches. Deletes are idempotent, so purges in several processes at once only share
the work.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import ColumnElement, Table, delete, select, tuple_

from failover_otp.store.database import Database
from failover_otp.store.tables import (
    applications,
    deadlines,
    flows,
    otp_codes,
    steps,
    webhook_outbox,
)

# Rows that belong to a flow and go with it (foreign keys first).
FLOW_CHILDREN: tuple[Table, ...] = (steps, deadlines, otp_codes, webhook_outbox)


class PurgeStore:
    def __init__(self, db: Database, *, batch: int = 100) -> None:
        self.db = db
        self.batch = batch

    async def delete_where(self, table: Table, where: ColumnElement[bool]) -> int:
        """Delete every row of ``table`` matching ``where``, ``batch`` rows a transaction."""
        key = list(table.primary_key.columns)
        chosen = select(*key).where(where).limit(self.batch)
        match = key[0].in_(chosen) if len(key) == 1 else tuple_(*key).in_(chosen)
        total = 0
        while True:
            async with self.db.write() as conn:
                deleted = int((await conn.execute(delete(table).where(match))).rowcount)
            total += deleted
            if deleted < self.batch:
                return total
            await asyncio.sleep(0)  # let waiting writers in between two batches

    async def flows_created_before(self, before: datetime) -> int:
        """Delete flows created before ``before`` with their steps, timer, code and webhook
        events; application by application, so each batch is read from the index on
        (application_id, created_at)."""
        async with self.db.read() as conn:
            app_ids = (await conn.execute(select(applications.c.id))).scalars().all()
        total = 0
        for app_id in app_ids:
            chosen = (
                select(flows.c.id)
                .where(flows.c.application_id == app_id, flows.c.created_at < before)
                .order_by(flows.c.created_at)
                .limit(self.batch)
            )
            while True:
                async with self.db.write() as conn:
                    ids = list((await conn.execute(chosen)).scalars().all())
                    if ids:
                        for child in FLOW_CHILDREN:
                            await conn.execute(delete(child).where(child.c.flow_id.in_(ids)))
                        await conn.execute(delete(flows).where(flows.c.id.in_(ids)))
                total += len(ids)
                if len(ids) < self.batch:
                    break
                await asyncio.sleep(0)
        return total
