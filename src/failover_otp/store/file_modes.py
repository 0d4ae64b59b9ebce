"""SQLite files readable by their owner only: they hold the code key and webhook secrets.

The database file is made ``0600`` before SQLite first opens it, because SQLite gives its WAL,
shared-memory and journal files the permissions of the database file (so they are ``0600`` too,
without touching the process-wide umask, which other threads share). Files an older version left
readable by others are narrowed at every start. A directory the service creates is ``0700``; one
that already exists is left as it is (it may be shared, e.g. ``/tmp``).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
# The files SQLite keeps beside the database.
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


def secure_database_file(path: Path) -> None:
    """Create ``path``'s directory (0700) and the empty database file (0600) if missing, and
    take group and other permissions off the database and its side files."""
    if not path.parent.exists():
        path.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        # An empty file is an empty SQLite database.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for file in (path, *(path.with_name(path.name + s) for s in SIDE_SUFFIXES)):
        _owner_only(file)


def _owner_only(file: Path) -> None:
    try:
        mode = stat.S_IMODE(file.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077 == 0:
        return
    try:
        os.chmod(file, FILE_MODE)
    except PermissionError:  # another user's file: say so, the service still runs
        log.warning("database file is readable by other users", path=str(file), mode=oct(mode))
    else:
        log.info("database file made owner-only", path=str(file), was=oct(mode))
