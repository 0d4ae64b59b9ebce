"""Issue 15.5: secrets are not readable by other local users.

The SQLite files (database, WAL, shared memory) are owner-only, a directory the service creates
is 0700, and the server keys can live outside the database in ``FOTP_KEY_FILE``."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.support.security_stack import otp_body, security_stack
from tests.unit.test_key_file import write_key_file

from failover_otp.key_file import derive_key
from failover_otp.services.codes import CodeKeys, VerifyStatus
from failover_otp.services.security import CODE_KEY_STATE
from failover_otp.store.database import Database
from failover_otp.store.migrate import upgrade
from failover_otp.store.tables import service_state

pytestmark = pytest.mark.asyncio(loop_scope="session")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common default, under which files are created world-readable (0644)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("usual_umask")
async def test_new_sqlite_files_are_owner_only(tmp_path: Path) -> None:
    db_file = tmp_path / "data" / "fresh" / "failover-otp.db"
    url = f"sqlite:///{db_file}"
    await upgrade(url)
    db = Database(url)
    try:
        async with db.write() as conn:  # the WAL and shared-memory files exist while open
            await conn.execute(service_state.insert().values(key="k", value="v"))
        assert mode(db_file.parent) == 0o700
        for name in ("failover-otp.db", "failover-otp.db-wal", "failover-otp.db-shm"):
            assert mode(db_file.parent / name) == 0o600, name
    finally:
        await db.dispose()


@pytest.mark.usefixtures("usual_umask")
async def test_readable_files_left_by_an_older_version_are_narrowed(tmp_path: Path) -> None:
    db_file = tmp_path / "failover-otp.db"
    url = f"sqlite:///{db_file}"
    await upgrade(url)
    tmp_path.chmod(0o755)
    for name in ("failover-otp.db", "failover-otp.db-wal"):
        path = tmp_path / name
        path.touch()
        path.chmod(0o644)
    Database(url)
    assert mode(db_file) == 0o600
    assert mode(tmp_path / "failover-otp.db-wal") == 0o600
    # A directory that already existed is not the service's to change.
    assert mode(tmp_path) == 0o755


async def test_keys_from_a_key_file_are_not_stored(database_url: str, tmp_path: Path) -> None:
    master = secrets.token_bytes(32)
    key_file = write_key_file(tmp_path / "keys", master.hex() + "\n")
    # A deployment that kept its key in the database, then moves it to a key file.
    async with security_stack(database_url):
        pass
    async with security_stack(database_url, key_file=str(key_file)) as stack:
        record, code = await stack.send_otp(otp_body())
        assert code is not None
        row = await stack.security.codes.store.get(record.flow.id)
        assert row is not None
        expected = CodeKeys(derive_key(master, CODE_KEY_STATE).encode())
        assert row.code_hmac == expected.digest(record.flow.id, code)
        async with stack.db.read() as conn:
            stored = (await conn.execute(select(service_state.c.key))).scalars().all()
        assert CODE_KEY_STATE not in stored
    # Another process with the same key file verifies the code.
    async with security_stack(database_url, key_file=str(key_file)) as again:
        result = await again.security.codes.verify("app-1", record.flow.id, code)
        assert result.status is VerifyStatus.APPROVED
