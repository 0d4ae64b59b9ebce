"""``serve --workers``: how many processes, and each one's share of the limits."""

from __future__ import annotations

import os

import pytest

from failover_otp.cli.serve_processes import (
    TooManyProcesses,
    per_process,
    process_count,
    settings_environment,
)
from failover_otp.settings import Settings

PG = "postgresql://u:p@127.0.0.1:5432/db"
LITE = "sqlite:///./x.db"


def test_postgres_runs_one_process_per_core_unless_told() -> None:
    assert process_count(Settings(database_url=PG)) == max(1, os.cpu_count() or 1)
    assert process_count(Settings(database_url=PG, serve_workers=3)) == 3


def test_sqlite_runs_one_process_and_refuses_more() -> None:
    assert process_count(Settings(database_url=LITE)) == 1
    assert process_count(Settings(database_url=LITE, serve_workers=1)) == 1
    with pytest.raises(TooManyProcesses, match="single writer"):
        process_count(Settings(database_url=LITE, serve_workers=2))


def test_each_process_takes_its_share_of_the_limits() -> None:
    settings = Settings(
        database_url=PG, db_pool_size=10, limit_concurrency=256, webhook_concurrency=64
    )
    share = per_process(settings, 4)
    assert (share.db_pool_size, share.limit_concurrency, share.webhook_concurrency) == (2, 64, 16)
    assert share.webhook_concurrency_per_host == 4
    assert per_process(Settings(database_url=PG), 4).limit_concurrency == 0  # still no limit
    assert per_process(settings, 1) is settings


def test_the_processes_read_the_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith("FOTP_"):
            monkeypatch.delenv(name)
    settings = Settings(database_url=PG, time_scale=60.0, run_worker=False, db_pool_size=3)
    environment = settings_environment(settings)
    assert environment["FOTP_DATABASE_URL"] == PG
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert Settings() == settings
