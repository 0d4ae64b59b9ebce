"""Run the real ``failover-otp`` command as a subprocess on a loopback port, and stop it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.ports import LOOPBACK, free_port, wait_for_http

COMMAND = str(Path(sys.executable).with_name("failover-otp"))

# Test servers send hundreds of flows to a few numbers within seconds: the abuse limits (on by
# default, docs/security.md) are switched off unless a test's own env turns them back on.
RELAXED_LIMITS_ENV = {
    "FOTP_RATE_LIMIT_ENABLED": "false",
    "FOTP_SPEND_CAP_PER_DAY": "0",
    # Test fleets run up to six server processes on one PostgreSQL (100 connections by
    # default): small pools keep them well inside it.
    "FOTP_DB_POOL_SIZE": "4",
    # Suites fire hundreds of requests at once on a machine shared with other suites: they
    # queue for a connection as long as they used to, rather than get the 503 an overloaded
    # service answers after the 2 s default (tests/integration/test_overload.py tests that).
    "FOTP_DB_POOL_TIMEOUT_SECONDS": "30",
    # Known, so tests can post delivery reports the way Routee does.
    "FOTP_CALLBACK_TOKEN": "tests-callback-token",
}


# Test receivers listen on loopback over http, which callback URLs may not reach by default
# (the SSRF guard, docs/security.md): test servers allow exactly that. A test of the guard
# itself overrides both in its own env.
LOOPBACK_WEBHOOKS_ENV = {
    "FOTP_WEBHOOK_ALLOW_HTTP": "true",
    "FOTP_WEBHOOK_ALLOWED_TARGETS": "127.0.0.0/8",
}

# How long a server may take to answer its health check. Generous: on a loaded 2-core machine
# importing the app and migrating can take tens of seconds; a server that never starts still
# fails well inside the e2e tier's time limit (CONTRIBUTING.md).
START_TIMEOUT = 120.0


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, stdin: str | None = None
) -> str:
    """Run a one-shot ``failover-otp`` command and return its standard output."""
    result = subprocess.run(
        [COMMAND, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"failover-otp {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def cli_in_process(*args: str) -> str:
    """Run a one-shot ``failover-otp`` command in this process (the same Typer app the command
    line runs, without the ~1 s a new Python process costs to start) and return its output."""
    from typer.testing import CliRunner

    from failover_otp.cli.main import app

    def invoke() -> str:
        result = CliRunner().invoke(app, list(args))
        if result.exit_code != 0:
            raise RuntimeError(f"failover-otp {' '.join(args)} failed:\n{result.output}")
        return result.stdout

    # In a thread of its own: the command runs (and then closes) an event loop of its own, which
    # must not meet the caller's (an async test's, or Playwright's in the browser tests).
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(invoke).result()


def create_application(database_url: str, name: str = "tests") -> tuple[str, str]:
    # Only `serve` and `migrate` create a database; tests may make their application before
    # any server has run on it (`migrate` at head is a quick no-op). In this process: every
    # module's fixtures make applications, and two process starts each added up to minutes.
    cli_in_process("migrate", "--database-url", database_url)
    output = cli_in_process("apps", "create", name, "--json", "--database-url", database_url)
    creds = json.loads(output)
    return creds["applicationId"], creds["applicationSecret"]


# One process per `serve` (its default on PostgreSQL is one per core): tests stop, kill and
# count a server by its process. A test of several processes asks for them itself.
ONE_PROCESS_ENV = {"FOTP_SERVE_WORKERS": "1"}


@dataclass
class ServerProcess:
    """``failover-otp serve`` (or ``worker``/``sandbox``) running in the background."""

    args: list[str]
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    health_path: str = "/health"

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.args[0]}-{self.port}.log"

    def start(self, *, wait: bool = True) -> ServerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [COMMAND, *self.args],
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                **ONE_PROCESS_ENV,
                **RELAXED_LIMITS_ENV,
                **LOOPBACK_WEBHOOKS_ENV,
                **self.env,
            },
        )
        log.close()
        if wait:
            try:
                wait_for_http(self.url + self.health_path, timeout=START_TIMEOUT, expect_status=200)
            except TimeoutError:
                self.stop()
                raise RuntimeError(f"server did not start:\n{self.log_tail()}") from None
        return self

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (crash tests)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


def serve_args(port: int, database_url: str, *extra: str, time_scale: float = 60) -> list[str]:
    return [
        "serve",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--database-url",
        database_url,
        "--time-scale",
        str(time_scale),
        *extra,
    ]


def routee_env(sandbox_url: str, public_url: str) -> dict[str, str]:
    """Settings that point the real Routee provider at a ``failover-otp sandbox`` process."""
    return {
        "FOTP_ROUTEE_BASE_URL": sandbox_url,
        "FOTP_ROUTEE_AUTH_URL": f"{sandbox_url}/oauth/token",
        "FOTP_ROUTEE_APP_ID": "tests",
        "FOTP_ROUTEE_APP_SECRET": "tests-secret",
        "FOTP_PUBLIC_URL": public_url,
    }


class ApiSession:
    """An authenticated HTTP session against a running server."""

    def __init__(self, base_url: str, app_id: str, secret: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, trust_env=False)
        try:
            token = self.http.post(
                "/oauth/token", auth=(app_id, secret), data={"grant_type": "client_credentials"}
            )
            token.raise_for_status()
        except BaseException:
            self.http.close()  # a refused session must not leave its connection open
            raise
        self.http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post(path, json=body)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def close(self) -> None:
        self.http.close()
