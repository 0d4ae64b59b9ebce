"""The reference's storage: raw asyncpg (statements prepared once per connection, no pool
reset) or sqlite3 directly (one connection, WAL, ``synchronous=NORMAL`` as the product uses).

The tables carry the product's columns and indexes for flows, steps and deadlines (see
``failover_otp.store.tables``), so each write touches as many index entries as the product's.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Protocol

_TABLES = """
CREATE TABLE IF NOT EXISTS flows (
  id VARCHAR(36) PRIMARY KEY, application_id VARCHAR(32) NOT NULL, kind VARCHAR(16) NOT NULL,
  status VARCHAR(16) NOT NULL, label VARCHAR(350), phone VARCHAR(20) NOT NULL,
  request {json} NOT NULL, code_hash VARCHAR(64) NOT NULL, total_cost FLOAT NOT NULL,
  created_at {time} NOT NULL, updated_at {time} NOT NULL, version INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ref_flows_app ON flows (application_id, created_at, id);
CREATE INDEX IF NOT EXISTS ref_flows_status ON flows (application_id, status, created_at, id);
CREATE INDEX IF NOT EXISTS ref_flows_kind ON flows (application_id, kind, created_at, id);
CREATE TABLE IF NOT EXISTS steps (
  flow_id VARCHAR(36) NOT NULL REFERENCES flows (id), idx INTEGER NOT NULL,
  application_id VARCHAR(32) NOT NULL, tracking_id VARCHAR(64) NOT NULL UNIQUE,
  provider_id VARCHAR(64), role VARCHAR(16) NOT NULL, channel VARCHAR(8) NOT NULL,
  phone VARCHAR(20) NOT NULL, label VARCHAR(350), status VARCHAR(16) NOT NULL,
  country VARCHAR(4), created_at {time} NOT NULL, updated_at {time} NOT NULL,
  sent_at {time}, price FLOAT, PRIMARY KEY (flow_id, idx));
CREATE INDEX IF NOT EXISTS ref_steps_app ON steps (application_id, created_at, flow_id, idx);
CREATE INDEX IF NOT EXISTS ref_steps_status ON steps (application_id, status, created_at);
CREATE INDEX IF NOT EXISTS ref_steps_phone ON steps (application_id, phone, flow_id);
CREATE TABLE IF NOT EXISTS deadlines (
  flow_id VARCHAR(36) PRIMARY KEY REFERENCES flows (id), due_at {time} NOT NULL,
  kind VARCHAR(16) NOT NULL, step_index INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ref_deadlines_due ON deadlines (due_at);
"""

# PostgreSQL: flow, first step and deadline in one statement (foreign keys are checked at the
# statement's end); the provider's answer in another.
_PG_START = """
WITH f AS (INSERT INTO flows VALUES ($1, $2, 'otp', 'InProgress', $3, $4, $5, $6, 0, $7, $7, 0)),
s AS (INSERT INTO steps VALUES ($1, 0, $2, $8, NULL, 'primary', 'viber', $4, $3, 'Sending',
                                NULL, $7, $7, NULL, NULL))
INSERT INTO deadlines VALUES ($1, $9, 'ttl', 0)"""
_PG_ANSWER = """
WITH s AS (UPDATE steps SET status = 'Sent', provider_id = $2, country = $3, sent_at = $4,
                            updated_at = $4 WHERE flow_id = $1 AND idx = 0)
UPDATE flows SET updated_at = $4, version = version + 1 WHERE id = $1"""
_STORY = """
SELECT f.status, f.total_cost, s.tracking_id, s.role, s.status AS step_status, s.channel,
       s.phone, s.created_at, s.price, s.country
FROM flows f JOIN steps s ON s.flow_id = f.id
WHERE f.id = {p1} AND f.application_id = {p2} ORDER BY s.idx"""

_LITE_FLOW = "INSERT INTO flows VALUES (?, ?, 'otp', 'InProgress', ?, ?, ?, ?, 0, ?, ?, 0)"
_LITE_STEP = (
    "INSERT INTO steps VALUES (?, 0, ?, ?, NULL, 'primary', 'viber', ?, ?, 'Sending',"
    " NULL, ?, ?, NULL, NULL)"
)
_LITE_DEADLINE = "INSERT INTO deadlines VALUES (?, ?, 'ttl', 0)"
_LITE_STEP_ANSWER = (
    "UPDATE steps SET status = 'Sent', provider_id = ?, country = ?, sent_at = ?, updated_at = ?"
    " WHERE flow_id = ? AND idx = 0"
)
_LITE_FLOW_ANSWER = "UPDATE flows SET updated_at = ?, version = version + 1 WHERE id = ?"

Row = tuple[Any, ...]


class Store(Protocol):
    async def start_flow(
        self,
        flow_id: str,
        app_id: str,
        label: str | None,
        phone: str,
        request: bytes,
        code_hash: str,
        now: datetime,
        tracking_id: str,
        due_at: datetime,
    ) -> None: ...

    async def store_answer(
        self, flow_id: str, provider_id: str, country: str | None, now: datetime
    ) -> None: ...

    async def story(self, flow_id: str, app_id: str) -> list[Row]: ...

    async def close(self) -> None: ...


class PostgresStore:
    def __init__(self, pool: Any) -> None:
        self.pool = pool

    @classmethod
    async def open(cls, dsn: str, size: int) -> PostgresStore:
        import asyncpg

        async def no_reset(_: Any) -> None:  # the reference runs no session state to reset
            return None

        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(_TABLES.format(json="JSONB", time="TIMESTAMPTZ"))
        finally:
            await conn.close()
        pool = await asyncpg.create_pool(dsn, min_size=size, max_size=size, reset=no_reset)
        return cls(pool)

    async def start_flow(
        self,
        flow_id: str,
        app_id: str,
        label: str | None,
        phone: str,
        request: bytes,
        code_hash: str,
        now: datetime,
        tracking_id: str,
        due_at: datetime,
    ) -> None:
        # asyncpg prepares each statement once per connection and keeps it (statement cache).
        async with self.pool.acquire() as conn:
            await conn.execute(
                _PG_START,
                flow_id,
                app_id,
                label,
                phone,
                request.decode(),
                code_hash,
                now,
                tracking_id,
                due_at,
            )

    async def store_answer(
        self, flow_id: str, provider_id: str, country: str | None, now: datetime
    ) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(_PG_ANSWER, flow_id, provider_id, country, now)

    async def story(self, flow_id: str, app_id: str) -> list[Row]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(_STORY.format(p1="$1", p2="$2"), flow_id, app_id)
        return [tuple(r) for r in rows]

    async def close(self) -> None:
        await self.pool.close()


class SqliteStore:
    """One connection used from the event loop: SQLite has one writer and each statement here
    takes microseconds, so a thread hop would cost more than it saves."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.executescript(_TABLES.format(json="JSON", time="TIMESTAMP"))
        self.story_sql = _STORY.format(p1="?", p2="?")

    async def start_flow(
        self,
        flow_id: str,
        app_id: str,
        label: str | None,
        phone: str,
        request: bytes,
        code_hash: str,
        now: datetime,
        tracking_id: str,
        due_at: datetime,
    ) -> None:
        at, due = now.isoformat(), due_at.isoformat()
        conn = self.conn
        conn.execute("BEGIN")
        try:
            conn.execute(_LITE_FLOW, (flow_id, app_id, label, phone, request, code_hash, at, at))
            conn.execute(_LITE_STEP, (flow_id, app_id, tracking_id, phone, label, at, at))
            conn.execute(_LITE_DEADLINE, (flow_id, due))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def store_answer(
        self, flow_id: str, provider_id: str, country: str | None, now: datetime
    ) -> None:
        at = now.isoformat()
        conn = self.conn
        conn.execute("BEGIN")
        try:
            conn.execute(_LITE_STEP_ANSWER, (provider_id, country, at, at, flow_id))
            conn.execute(_LITE_FLOW_ANSWER, (at, flow_id))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def story(self, flow_id: str, app_id: str) -> list[Row]:
        return self.conn.execute(self.story_sql, (flow_id, app_id)).fetchall()

    async def close(self) -> None:
        self.conn.close()
