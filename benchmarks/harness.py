"""Processes and databases the benchmarks run against: the real service, the ceiling app,
SQLite files and PostgreSQL databases, plus the machine and version facts every report records.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVE = str(BIN / "failover-otp")
LOOPBACK = "127.0.0.1"
# FOTP_BENCH_SRC=/path/to/other/checkout/src runs that tree's service instead (before/after
# comparisons with the same load generator, e.g. a `git archive` of an older commit).
OTHER_SRC = os.environ.get("FOTP_BENCH_SRC", "")


def service_command() -> tuple[list[str], dict[str, str]]:
    """How to start ``failover-otp`` (and the environment it needs)."""
    if not OTHER_SRC:
        return [SERVE], {}
    launcher = "import sys; from failover_otp.cli.main import main; sys.exit(main())"
    return [sys.executable, "-c", launcher], {"PYTHONPATH": OTHER_SRC}


# Abuse and cost controls are switched off: a benchmark sends thousands of codes a second
# from one application (docs/security.md lists them). Unknown names are ignored by Settings.
BENCH_ENV = {
    "FOTP_RATE_LIMIT_ENABLED": "false",
    "FOTP_SPEND_CAP_PER_DAY": "0",
    "FOTP_RATE_LIMIT_NUMBER_PER_10MIN": "0",
    "FOTP_RATE_LIMIT_NUMBER_PER_DAY": "0",
    "FOTP_RATE_LIMIT_PREFIX_PER_HOUR": "0",
    "FOTP_RATE_LIMIT_APPLICATION_PER_MINUTE": "0",
    "FOTP_RATE_LIMIT_APPLICATION_PER_DAY": "0",
    "FOTP_RATE_LIMIT_COUNTRY_PER_HOUR": "0",
    "FOTP_LOG_LEVEL": "warning",
    # One serve process: the targets are per process, and its CPU and memory are read by pid.
    "FOTP_SERVE_WORKERS": "1",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def http_json(
    method: str,
    url: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, Any]:
    """A one-off blocking HTTP call (set-up and checks, never the measured load)."""
    data: bytes | None = None
    all_headers = dict(headers or {})
    if form is not None:
        data = "&".join(f"{k}={v}" for k, v in form.items()).encode()
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        status = exc.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_http(
    url: str, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before answering {url}")
        try:
            status, _ = http_json("GET", url, timeout=2.0)
            if status == 200:
                return
            last = f"HTTP {status}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s ({last})")


def answers_within(url: str, seconds: float) -> bool:
    """Whether ``url`` gives any HTTP answer (200, 404, ...) within ``seconds``."""
    try:
        http_json("GET", url, timeout=seconds)
    except OSError:  # refused, or timed out (socket.timeout is an OSError)
        return False
    return True


def wait_until_drained(
    pid: int, probe_url: str, *, patience: float = 120.0, cores: float = 0.1, prompt: float = 1.0
) -> bool:
    """Wait (at most ``patience`` s) until the service ``pid`` has no work left over from an
    earlier phase; return whether it got there.

    Idle means both: under ``cores`` for a second, and ``probe_url`` (a path without database
    work) answered within ``prompt`` seconds. Low CPU alone is not enough: after an open-loop
    overload the service still holds thousands of requests whose clients gave up (it finishes
    each one), and on a busy machine it can be starved below ``cores`` while it works through
    them. A probe queues behind that backlog, so a prompt answer shows it is gone."""
    from benchmarks import monitor

    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        before = monitor.sample([pid])
        time.sleep(1.0)
        after = monitor.sample([pid])
        idle = monitor.usage(before, after, {pid: "server"})["server"] < cores
        if idle and answers_within(probe_url, prompt):
            return True
    return False


# --------------------------------------------------------------------------- processes


@dataclass
class Process:
    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    health_path: str = "/health"
    port: int = field(default_factory=free_port)
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self, timeout: float = 90.0) -> Process:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            [arg.replace("{port}", str(self.port)) for arg in self.argv],
            cwd=self.log_path.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                **{k: v.replace("{port}", str(self.port)) for k, v in self.env.items()},
            },
        )
        log.close()
        try:
            wait_http(self.url + self.health_path, timeout=timeout, process=self.popen)
        except (TimeoutError, RuntimeError):
            self.stop()
            raise RuntimeError(f"{self.argv[0]} did not start:\n{self.log_tail()}") from None
        return self

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def rss_mb(self) -> float:
        return rss_mb(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def __enter__(self) -> Process:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` from /proc (MB = 2**20 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def self_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def ceiling_process(workdir: Path) -> Process:
    return Process(
        [sys.executable, "-m", "benchmarks.ceiling", "--port", "{port}"],
        workdir / "ceiling.log",
        env={"PYTHONPATH": str(ROOT)},
        health_path="/",
    )


REFERENCE_TOKEN = "reference-bench-token"


def sandbox_process(workdir: Path) -> Process:
    """The standalone Routee sandbox (``failover-otp sandbox``): the provider of the product's
    production shape and of the reference."""
    command, env = service_command()
    return Process(
        [*command, "sandbox", "--port", "{port}"],
        workdir / "sandbox.log",
        env={**env, "FOTP_LOG_LEVEL": "warning"},
        health_path="/_sandbox/sends",
    )


def reference_process(workdir: Path, database_url: str, routee_url: str) -> Process:
    """The reference app (``benchmarks/reference``) on ``database_url`` against ``routee_url``."""
    return Process(
        [
            sys.executable,
            "-m",
            "benchmarks.reference.app",
            "--port",
            "{port}",
            "--database-url",
            database_url,
            "--routee-url",
            routee_url,
            "--token",
            REFERENCE_TOKEN,
        ],
        workdir / "reference.log",
        env={"PYTHONPATH": str(ROOT)},
    )


def routee_env(routee_url: str) -> dict[str, str]:
    """``serve --provider routee`` against ``routee_url``, delivery reports posted back to the
    service's own port (``{port}`` is filled in when the process starts)."""
    return {
        "FOTP_PROVIDER": "routee",
        "FOTP_ROUTEE_BASE_URL": routee_url,
        "FOTP_ROUTEE_AUTH_URL": routee_url + "/oauth/token",
        "FOTP_ROUTEE_APP_ID": "bench",
        "FOTP_ROUTEE_APP_SECRET": "bench",
        "FOTP_PUBLIC_URL": f"http://{LOOPBACK}:{{port}}",
    }


@dataclass
class Service:
    """``failover-otp serve`` on a database, with one application and a bearer token."""

    database_url: str
    workdir: Path
    time_scale: float = 1.0
    extra_env: dict[str, str] = field(default_factory=dict)
    process: Process | None = None
    app_id: str = ""
    app_secret: str = ""
    token: str = ""

    @property
    def url(self) -> str:
        assert self.process is not None
        return self.process.url

    def create_app(self, name: str = "bench") -> None:
        command, env = service_command()
        # `apps` refuses to create a database: `migrate` makes it (a no-op once it exists).
        subprocess.run(
            [*command, "migrate", "--database-url", self.database_url],
            capture_output=True,
            check=True,
            env={**os.environ, **BENCH_ENV, **env},
            cwd=self.workdir,
        )
        out = subprocess.run(
            [*command, "apps", "create", name, "--json", "--database-url", self.database_url],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **BENCH_ENV, **env},
            cwd=self.workdir,
        ).stdout
        creds = json.loads(out)
        self.app_id, self.app_secret = creds["applicationId"], creds["applicationSecret"]

    def start(self) -> Service:
        if not self.app_id:
            self.create_app()
        command, env = service_command()
        argv = [
            *command,
            "serve",
            "--host",
            LOOPBACK,
            "--port",
            "{port}",
            "--database-url",
            self.database_url,
            "--time-scale",
            str(self.time_scale),
        ]
        self.process = Process(
            argv,
            self.workdir / "serve.log",
            env={
                **BENCH_ENV,
                **env,
                **self.extra_env,
                "FOTP_DATA_DIR": str(self.workdir / "data"),
            },
        ).start()
        basic = base64.b64encode(f"{self.app_id}:{self.app_secret}".encode()).decode()
        status, body = http_json(
            "POST",
            self.url + "/oauth/token",
            headers={"Authorization": f"Basic {basic}"},
            form={"grant_type": "client_credentials"},
        )
        if status != 200:
            raise RuntimeError(f"token request failed: {status} {body}")
        self.token = body["access_token"]
        return self

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        """Sum of a Prometheus sample from ``/metrics`` whose labels include ``labels``."""
        text = urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            self.url + "/metrics", timeout=30
        )
        total = 0.0
        for line in text.read().decode().splitlines():
            if not line.startswith(name):
                continue
            head, _, value = line.rpartition(" ")
            metric, _, label_text = head.partition("{")
            if metric != name:
                continue
            if labels and not all(f'{k}="{v}"' in label_text for k, v in labels.items()):
                continue
            total += float(value)
        return total


# --------------------------------------------------------------------------- databases


@dataclass
class BenchDatabase:
    kind: str  # "sqlite" or "postgres"
    url: str
    note: str = ""


class Databases:
    """Fresh databases for each benchmark: SQLite files in a scratch folder, PostgreSQL
    databases on the local server (127.0.0.1:5432, trust) or a throwaway cluster."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self._pg: Any = None
        self._pg_problem: str | None = None
        self._pg_urls: list[str] = []

    def sqlite(self, name: str) -> BenchDatabase:
        path = self.scratch / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return BenchDatabase("sqlite", f"sqlite:///{path}", note=f"file {path}")

    def fresh(self, kind: str, name: str) -> BenchDatabase | None:
        """A fresh database of ``kind`` (sqlite, postgres); None when PostgreSQL is missing."""
        return self.sqlite(name) if kind == "sqlite" else self.postgres()

    def postgres_server(self) -> Any:
        if self._pg is None and self._pg_problem is None:
            from tests.support import postgres as pg

            try:
                self._pg = pg.find_postgres()
            except Exception as exc:
                self._pg_problem = f"PostgreSQL unavailable: {exc}"
            if self._pg is None and self._pg_problem is None:
                self._pg_problem = pg.SKIP_REASON
        return self._pg

    @property
    def postgres_problem(self) -> str | None:
        self.postgres_server()
        return self._pg_problem

    def postgres(self) -> BenchDatabase | None:
        server = self.postgres_server()
        if server is None:
            return None
        from tests.support import postgres as pg

        url: str = pg.create_database(server.base_url)
        self._pg_urls.append(url)
        where = "local server 127.0.0.1:5432" if server.kind == "local" else server.kind
        return BenchDatabase("postgres", url, note=f"{where}, database {pg.database_name(url)}")

    def drop(self, db: BenchDatabase) -> None:
        if db.kind == "postgres":
            from tests.support import postgres as pg

            with contextlib.suppress(Exception):
                pg.drop_database(db.url, base_url=self._pg.base_url)
            if db.url in self._pg_urls:
                self._pg_urls.remove(db.url)
        else:
            path = db.url.removeprefix("sqlite:///")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        for url in list(self._pg_urls):
            self.drop(BenchDatabase("postgres", url))
        if self._pg is not None:
            self._pg.stop()


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="fotp-bench-"))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- facts


def _versions() -> dict[str, str]:
    names = [
        "failover-otp",
        "fastapi",
        "starlette",
        "pydantic",
        "uvicorn",
        "uvloop",
        "httptools",
        "sqlalchemy",
        "aiosqlite",
        "asyncpg",
        "aiohttp",
        "orjson",
    ]
    found: dict[str, str] = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


async def _postgres_facts(url: str) -> dict[str, str]:
    import asyncpg
    from tests.support.postgres import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        facts = {"version": str(await conn.fetchval("SHOW server_version"))}
        for name in ("fsync", "synchronous_commit", "shared_buffers", "max_connections"):
            facts[name] = str(await conn.fetchval(f"SHOW {name}"))
        return facts
    finally:
        await conn.close()


def machine_facts(postgres_url: str | None) -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    facts: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": _os_name(),
        "versions": _versions(),
    }
    if postgres_url:
        with contextlib.suppress(Exception):
            facts["postgres"] = asyncio.run(_postgres_facts(postgres_url))
    return facts


def _os_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return platform.system()


def git_revision() -> str:
    with contextlib.suppress(Exception):
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout.strip()
        return head + (" + uncommitted changes" if dirty else "")
    return "unknown"


@contextlib.contextmanager
def one_database(kind: str, name: str) -> Iterator[tuple[Path, BenchDatabase]]:
    """A scratch folder and one fresh database in it (for the profiling tools)."""
    with scratch_dir() as scratch:
        databases = Databases(scratch)
        try:
            db = databases.fresh(kind, name)
            if db is None:
                raise SystemExit(f"no PostgreSQL: {databases.postgres_problem}")
            yield scratch, db
        finally:
            databases.close()
