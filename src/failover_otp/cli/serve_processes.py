"""``serve --workers N``: N server processes on one port (uvicorn's supervisor), PostgreSQL only.

Each process is a whole service (API, deadline worker, webhook loop, pending poller): the
deadline claims and the webhook leases already keep concurrent processes off each other's work
(``FOR UPDATE SKIP LOCKED``). What one process may take on at once (its pool of database
connections, its webhook attempts in flight, its admission limit) is the configured figure
divided among the processes, so N processes together use what one did. SQLite has a single
writer: it runs one process (docs/deployment.md).
"""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from failover_otp.settings import Settings

# The settings the processes share, passed through the environment (a process started by
# uvicorn's supervisor reads its settings as any service does: FOTP_* variables).
_SHARED = "FOTP_"
# The per-process share of each limit, and the least a process gets.
_DIVIDED = {
    "db_pool_size": 2,
    "limit_concurrency": 1,
    "webhook_concurrency": 1,
    "webhook_concurrency_per_application": 1,
    "webhook_concurrency_per_host": 1,
    "pending_poll_max_per_second": 1,
}


class TooManyProcesses(ValueError):
    pass


def process_count(settings: Settings) -> int:
    """How many processes ``serve`` runs (``serve_workers``): as asked, else one per core on
    PostgreSQL and one on SQLite (which has a single writer; asking it for more is refused)."""
    sqlite = make_url(settings.database_url).get_backend_name() == "sqlite"
    asked = settings.serve_workers
    if not asked:
        return 1 if sqlite else max(1, os.cpu_count() or 1)
    if sqlite and asked > 1:
        raise TooManyProcesses(
            "SQLite has a single writer, so serve runs one process on it; use PostgreSQL for "
            "--workers above 1 (docs/deployment.md)"
        )
    return asked


def per_process(settings: Settings, processes: int) -> Settings:
    """``settings`` with each process's share of the limits in ``_DIVIDED``."""
    if processes == 1:
        return settings
    shares: dict[str, Any] = {}
    for name, least in _DIVIDED.items():
        total = getattr(settings, name)
        if name == "limit_concurrency" and not total:
            continue  # no limit stays no limit
        share = total / processes
        shares[name] = max(least, int(share) if isinstance(total, int) else share)
    return settings.model_copy(update=shares)


def settings_environment(settings: Settings) -> dict[str, str]:
    """FOTP_* variables that make a new process read ``settings`` (those that differ from what
    the environment alone gives)."""
    given = settings.model_dump(mode="json")
    default = Settings().model_dump(mode="json")
    environment = {}
    for name, value in given.items():
        if value == default.get(name) or isinstance(getattr(settings, name), SecretStr):
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        environment[_SHARED + name.upper()] = text
    return environment


def app_from_environment() -> FastAPI:
    """The app of one of ``serve --workers``'s processes (uvicorn's factory)."""
    from failover_otp.web.app import create_app

    return create_app(Settings())
