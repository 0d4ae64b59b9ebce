"""The e2e set-ups' servers, started once per test session and shared (conftest.py)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from tests.support import postgres as pg
from tests.support.ports import wait_for_http
from tests.support.server import START_TIMEOUT, ServerProcess, routee_env, serve_args

SETUPS = ("sqlite", "postgresql", "routee")


class SharedServers:
    """One server per set-up and the Routee wire sandbox, started together on first use."""

    def __init__(self, workdir: Path, request: pytest.FixtureRequest) -> None:
        self.workdir = workdir
        self.request = request
        self.servers: dict[str, ServerProcess] = {}
        self.sandbox: ServerProcess | None = None
        self.database_urls: list[str] = []

    def get(self, setup: str) -> ServerProcess:
        if not self.servers:
            self._start_all()
        if setup not in self.servers:
            pytest.skip(pg.SKIP_REASON)  # only PostgreSQL can be missing
        return self.servers[setup]

    def _database_url(self, setup: str) -> str | None:
        if setup != "postgresql":
            return f"sqlite:///{self.workdir}/shared-{setup}.db"
        try:
            server: pg.PostgresServer = self.request.getfixturevalue("postgres_server")
        except pytest.skip.Exception:
            return None
        url = pg.create_database(server.base_url)
        self.database_urls.append(url)
        return url

    def _start_all(self) -> None:
        sandbox = ServerProcess(args=[], workdir=self.workdir, health_path="/_sandbox/sends")
        sandbox.args = ["sandbox", "--port", str(sandbox.port), "--time-scale", "60"]
        self.sandbox = sandbox.start(wait=False)
        for setup in SETUPS:
            database_url = self._database_url(setup)
            if database_url is None:
                continue
            proc = ServerProcess(args=[], workdir=self.workdir)
            proc.env = {"FOTP_DATABASE_URL": database_url}
            extra: list[str] = []
            if setup == "routee":
                extra = ["--provider", "routee"]
                proc.env.update(routee_env(sandbox.url, proc.url))
            proc.args = serve_args(proc.port, database_url, *extra)
            self.servers[setup] = proc.start(wait=False)
        # Started side by side; now wait for every one of them.
        for proc in [sandbox, *self.servers.values()]:
            try:
                wait_for_http(proc.url + proc.health_path, timeout=START_TIMEOUT, expect_status=200)
            except TimeoutError:
                raise RuntimeError(f"{proc.args[0]} did not start:\n{proc.log_tail()}") from None

    def stop(self) -> None:
        for proc in [*self.servers.values(), *([self.sandbox] if self.sandbox else [])]:
            proc.stop()
        for url in self.database_urls:
            with contextlib.suppress(Exception):
                pg.drop_database(url)
