"""Access tokens expire, and neither tokens nor secrets are stored in the clear (C2, A10)."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import inspect, text
from tests.support.security_stack import security_stack

from failover_otp.services.auth import AuthService, digest

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
