"""Which database errors are "not now" (503 + Retry-After) and which are bugs (500)."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sqlalchemy_exc

from failover_otp.store.availability import unavailable_reason


class _PostgresError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _wrapped(sqlstate: str) -> sqlalchemy_exc.DBAPIError:
    return sqlalchemy_exc.DBAPIError("UPDATE flows ...", None, _PostgresError(sqlstate))


@pytest.mark.parametrize("sqlstate", ["40P01", "40001", "55P03"])
def test_a_deadlock_or_serialisation_failure_is_busy(sqlstate: str) -> None:
    assert unavailable_reason(_wrapped(sqlstate)) == "busy"


@pytest.mark.parametrize("sqlstate", ["53300", "57P01", "08006"])
def test_a_server_that_cannot_serve_is_unavailable(sqlstate: str) -> None:
    assert unavailable_reason(_wrapped(sqlstate)) == "unavailable"


@pytest.mark.parametrize("sqlstate", ["23505", "42P01", "22001"])
def test_a_constraint_or_schema_error_is_a_bug(sqlstate: str) -> None:
    assert unavailable_reason(_wrapped(sqlstate)) is None
