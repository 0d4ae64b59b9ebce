"""Telling "the database cannot take this now" from a bug.

Overload (no pooled connection, no SQLite write turn, another process holding SQLite's lock) and
a database that refuses writes (disk full, read-only, shutting down, unreachable) are conditions
of the moment: the API answers them 503 with Retry-After, and readiness reports them. Anything
else stays an error to fix (500, logged).
"""

from __future__ import annotations

import socket
import sqlite3

from sqlalchemy import exc as sqlalchemy_exc

# PostgreSQL SQLSTATEs of a server that cannot take the request now: read-only transaction,
# disk full, out of memory, too many connections, configuration limit, admin/crash shutdown,
# cannot connect now, lost connection classes.
_PG_UNAVAILABLE = frozenset(
    {"25006", "53100", "53200", "53300", "53400", "57P01", "57P02", "57P03"}
)
_PG_UNAVAILABLE_CLASSES = ("08",)  # connection exceptions
# A transaction the server gave up to break a deadlock or a serialisation conflict, or a lock it
# could not take at once: the same request succeeds when tried again.
_PG_BUSY = frozenset({"40P01", "40001", "55P03"})
_SQLITE_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
    }
)


def unavailable_reason(error: BaseException) -> str | None:
    """Why the database could not serve (``busy``, ``unavailable``), or None for a bug."""
    if isinstance(error, sqlalchemy_exc.TimeoutError):
        return "busy"
    if isinstance(error, ConnectionError | socket.gaierror):
        # asyncpg's own connect errors reach us unwrapped (server down, unknown host).
        return "unavailable"
    if isinstance(error, sqlite3.Error):
        # Unwrapped: the writer's BEGIN IMMEDIATE runs in an event handler (store/database.py),
        # and a lock held past its wait reaches us as sqlite3's own error.
        return _sqlite_reason(error)
    if not isinstance(error, sqlalchemy_exc.DBAPIError):
        return None
    if error.connection_invalidated:
        return "unavailable"
    original = error.orig
    if isinstance(original, sqlite3.Error):
        return _sqlite_reason(original)
    state = getattr(original, "sqlstate", None)
    if state in _PG_BUSY:
        return "busy"
    if isinstance(state, str) and (
        state in _PG_UNAVAILABLE or state.startswith(_PG_UNAVAILABLE_CLASSES)
    ):
        return "unavailable"
    return None


def _sqlite_reason(error: sqlite3.Error) -> str | None:
    code = getattr(error, "sqlite_errorcode", None)
    if code is None or code & 0xFF not in _SQLITE_UNAVAILABLE:
        return None
    return "busy" if code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) else "unavailable"
