"""Only ``serve`` and ``migrate`` create a database.

Every other command opening a SQLite file that is not there would create an empty one and
answer from it (``apps list`` run from another folder printing no applications). They stop
instead and say where they looked. PostgreSQL databases are never created by the service.
"""

from __future__ import annotations

from pathlib import Path


class MissingDatabase(Exception):
    """The command would have created an empty database."""


def sqlite_file(database_url: str) -> Path | None:
    """The file a SQLite URL points at (None: another database, or in memory)."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser()


def require_existing_database(database_url: str) -> None:
    path = sqlite_file(database_url)
    if path is None or path.exists():
        return
    raise MissingDatabase(
        f"no database at {path.resolve()} (database URL {database_url}). Run this command "
        "where the service runs, give --database-url (or FOTP_DATABASE_URL), or create the "
        "database with `failover-otp migrate`."
    )
