"""The Chromium every browser test drives: Debian's, launched headless and kept off the network."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.server import ServerProcess, serve_args

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this
# machine's closed network refuses (and nothing may leave loopback anyway).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if not os.environ.get("CI"):
            pytest.skip(
                "no /usr/bin/chromium (apt-get install chromium; CI installs it and fails instead)"
            )
        raise AssertionError("CI must install chromium (.ci/run)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def sqlite_server(
    tmp_path_factory: pytest.TempPathFactory, name: str, env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    """A module's ``serve`` (the embedded sandbox, SQLite in a folder of its own), stopped
    after the module's tests: ``yield from sqlite_server(...)`` in a module-scoped fixture."""
    workdir = tmp_path_factory.mktemp(name)
    database_url = f"sqlite:///{workdir}/dashboard.db"
    proc = ServerProcess(
        args=[], workdir=workdir, env={"FOTP_DATABASE_URL": database_url, **(env or {})}
    )
    proc.args = serve_args(proc.port, database_url)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()
