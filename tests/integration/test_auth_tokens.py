"""Access tokens expire, and neither tokens nor secrets are stored in the clear (C2, A10)."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import inspect, text
from tests.support.security_stack import Stack, security_stack

from failover_otp.services.auth import AuthService, digest
from failover_otp.store.app_store import AppStore
from failover_otp.store.database import Database

_HOUR = timedelta(hours=1)
SRC = Path(__file__).resolve().parents[2] / "src" / "failover_otp"


async def test_tokens_expire_and_are_stored_hashed(database_url: str) -> None:
    async with security_stack(database_url) as stack:
        auth = AuthService(stack.apps, stack.clock, token_ttl_seconds=3600)
        creds = await auth.create_application("tokens")
        issued = await auth.issue_token(creds.application_id, creds.application_secret)
        assert issued is not None
        assert issued.expires_in == 3600
        assert await auth.application_for(issued.access_token) == creds.application_id
        stack.clock.advance(3599)
        assert await auth.application_for(issued.access_token) == creds.application_id
        stack.clock.advance(2)  # past the ttl: refused, the in-process cache included
        assert await auth.application_for(issued.access_token) is None
        # A fresh auth service (another process) agrees.
        other = AuthService(stack.apps, stack.clock, token_ttl_seconds=3600)
        assert await other.application_for(issued.access_token) is None
        assert await auth.issue_token(creds.application_id, "wrong") is None

        dump: list[str] = []
        async with stack.db.read() as conn:
            names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            for name in names:
                rows = (await conn.execute(text(f'SELECT * FROM "{name}"'))).all()  # noqa: S608
                dump.extend(repr(tuple(r)) for r in rows)
        stored = "\n".join(dump)
        assert issued.access_token not in stored
        assert creds.application_secret not in stored
        assert digest(issued.access_token) in stored


async def test_rotating_the_secret_ends_open_sessions(database_url: str) -> None:
    async with security_stack(database_url) as stack:
        auth = AuthService(stack.apps, stack.clock)
        creds = await auth.create_application("rotate")
        issued = await auth.issue_token(creds.application_id, creds.application_secret)
        assert issued is not None
        assert await auth.rotate_secret(creds.application_id) is not None
        fresh = AuthService(stack.apps, stack.clock)
        assert await fresh.application_for(issued.access_token) is None


@asynccontextmanager
async def two_processes(
    database_url: str,
) -> AsyncIterator[tuple[Stack, AuthService, AuthService]]:
    """The stack, its AuthService (``here``) and another one on a pool of its own
    (``elsewhere``), playing a second process."""
    async with security_stack(database_url) as stack:
        elsewhere_db = Database(database_url)
        try:
            here = AuthService(stack.apps, stack.clock)
            yield stack, here, AuthService(AppStore(elsewhere_db), stack.clock)
        finally:
            await elsewhere_db.dispose()


async def test_disabling_ends_tokens_at_once_in_every_process(database_url: str) -> None:
    """No process keeps honouring a token once its application is disabled."""
    async with two_processes(database_url) as (stack, here, elsewhere):
        creds = await here.create_application("revoked")
        app_id = creds.application_id

        async def token() -> str:
            issued = await here.issue_token(app_id, creds.application_secret)
            assert issued is not None
            return issued.access_token

        first = await token()
        for _ in range(2):  # used twice in the other process: anything it may cache is warm
            assert await elsewhere.application_for(first) == app_id
        assert await here.set_disabled(app_id, True)
        assert await elsewhere.application_for(first) is None
        assert await here.issue_token(app_id, creds.application_secret) is None
        # Enabling again does not bring the old tokens back; new ones work.
        assert await here.set_disabled(app_id, False)
        assert await elsewhere.application_for(first) is None
        second = await token()
        assert await elsewhere.application_for(second) == app_id
        # A token row that outlives the switch (written by a process that had not seen it) is
        # still refused while the application is disabled.
        assert await stack.apps.set_disabled(app_id, True)
        await stack.apps.add_token(digest("late"), app_id, stack.clock.now() + _HOUR)
        assert await elsewhere.application_for("late") is None
        assert not await here.set_disabled("no-such-app", True)


async def test_rotating_the_secret_ends_tokens_at_once_in_every_process(
    database_url: str,
) -> None:
    async with two_processes(database_url) as (_stack, here, elsewhere):
        creds = await here.create_application("rotated")
        issued = await here.issue_token(creds.application_id, creds.application_secret)
        assert issued is not None
        for _ in range(2):  # warm anything the other process may cache
            assert await elsewhere.application_for(issued.access_token) is not None
        rotated = await here.rotate_secret(creds.application_id)
        assert rotated is not None
        assert await elsewhere.application_for(issued.access_token) is None
        assert await here.issue_token(creds.application_id, creds.application_secret) is None
        assert await here.issue_token(creds.application_id, rotated.application_secret)


def _compares_secret(node: ast.Compare) -> bool:
    names = {"code", "code_hmac", "secret_hash", "token_hash", "digest"}
    parts = [node.left, *node.comparators]
    for part in parts:
        if isinstance(part, ast.Name) and part.id in names:
            return True
        if isinstance(part, ast.Attribute) and part.attr in names:
            return True
    return False


def test_secret_comparisons_are_constant_time() -> None:
    """A10: no ``==`` on codes, their hashes or secret hashes in the service's code."""
    offenders = []
    for path in (SRC / "services").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Compare)
                and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops)
                and _compares_secret(node)
            ):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
    for name in ("codes.py", "auth.py"):
        assert "hmac.compare_digest" in (SRC / "services" / name).read_text()
