"""Can this process's database take the writes a send needs? (``GET /health/ready``)

Reading is not enough: a full disk or a read-only database still answers ``SELECT 1`` while
every send fails. The probe commits a real write (one row of ``service_state``, upserted), and on
SQLite also asks for free space beside the database file — a write that fits in WAL pages
already allocated can succeed on a full disk while the next flow's insert cannot.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from failover_otp.store.availability import unavailable_reason
from failover_otp.store.database import Database
from failover_otp.store.tables import service_state

PROBE_KEY = "readiness_probe"


@dataclass
class Readiness:
    ready: bool
    checks: dict[str, str] = field(default_factory=dict)
    error: str | None = None


async def check(db: Database, *, min_free_bytes: int, within_seconds: float) -> Readiness:
    """Read, write and (SQLite) disk space, each check named in ``checks`` (``ok`` or why not),
    within ``within_seconds`` overall."""
    result = Readiness(ready=True)
    try:
        async with asyncio.timeout(within_seconds):
            await _read(db)
            result.checks["database"] = "ok"
            await _write(db)
            result.checks["writes"] = "ok"
    except TimeoutError:
        return _failed(result, "busy", f"no answer within {within_seconds:g} s")
    except Exception as exc:
        reason = unavailable_reason(exc) or "failing"
        return _failed(result, reason, str(exc).splitlines()[0] if str(exc) else repr(exc))
    if db.dialect.is_file and db.url.database not in (None, "", ":memory:"):
        free = _free_bytes(Path(str(db.url.database)))
        enough = free >= min_free_bytes
        result.checks["disk"] = "ok" if enough else "full"
        if not enough:
            result.ready = False
            result.error = f"{free // 2**20} MB free beside the database, below the minimum"
    return result


def _failed(result: Readiness, reason: str, error: str) -> Readiness:
    step = "database" if "database" not in result.checks else "writes"
    result.checks[step] = reason
    result.ready = False
    result.error = error
    return result


async def _read(db: Database) -> None:
    async with db.read() as conn:
        await conn.execute(text("SELECT 1"))


async def _write(db: Database) -> None:
    value = f"{datetime.now(UTC).isoformat()} pid {os.getpid()}"
    async with db.write() as conn:
        statement = db.dialect.insert(service_state).values(key=PROBE_KEY, value=value)
        await conn.execute(
            statement.on_conflict_do_update(index_elements=["key"], set_={"value": value})
        )


def _free_bytes(database: Path) -> int:
    return shutil.disk_usage(database.expanduser().resolve().parent).free
