"""PostgreSQL for the tests: find a server (or start a throwaway one) and make fresh databases.

Where the server comes from, first match wins:

1. ``FOTP_TEST_POSTGRES_URL`` (e.g. ``postgresql://user:pw@host:5432/postgres``): used as is;
   if it does not answer, that is an error, not a skip.
2. A throwaway cluster made with Debian's binaries (``/usr/lib/postgresql/*/bin/initdb``) in a
   temporary folder, on a free loopback port, stopped and deleted by :meth:`PostgresServer.stop`.
   As root, it runs as the ``postgres`` OS user (through ``runuser``, else ``su``). Preferred
   to a running server: it runs without fsync (a fresh database per test costs ~0.4 s instead
   of ~2 s on a busy machine), and no other user of that server slows the tests or sees their
   databases. Under pytest-xdist each worker has its own.
3. A server on ``127.0.0.1:5432`` that lets user ``postgres`` in without a password (trust),
   when there are no binaries to make a cluster with (or making one failed).
4. Nothing: :func:`find_postgres` returns ``None`` and tests should skip with :data:`SKIP_REASON`,
   unless ``FOTP_TEST_POSTGRES_REQUIRED=1`` (CI sets it), which turns that into an error.

``FOTP_TEST_POSTGRES_TEMPORARY=1`` (or ``force_temporary=True``) skips steps 1 and 3. To run the
tests on the server on 5432, name it: ``FOTP_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres``.

Typical wiring in a conftest::

    @pytest.fixture(scope="session")
    def postgres_server() -> Iterator[PostgresServer]:
        with pg.postgres_server() as server:
            if server is None:
                pytest.skip(pg.SKIP_REASON)
            yield server

    @pytest.fixture
    def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
        with pg.fresh_database(postgres_server.base_url) as url:
            yield url
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import pwd
import re
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ENV_URL = "FOTP_TEST_POSTGRES_URL"
ENV_FORCE_TEMPORARY = "FOTP_TEST_POSTGRES_TEMPORARY"
ENV_REQUIRED = "FOTP_TEST_POSTGRES_REQUIRED"
ENV_BINDIR = "FOTP_TEST_POSTGRES_BINDIR"
ENV_OS_USER = "FOTP_TEST_POSTGRES_OS_USER"

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TEST_DB_PREFIX = "fotp_test_"
DEBIAN_INITDB_GLOB = "/usr/lib/postgresql/*/bin/initdb"

SKIP_REASON = (
    "no PostgreSQL server for the tests: set FOTP_TEST_POSTGRES_URL, run one on 127.0.0.1:5432 "
    "with trust auth for user postgres, or install Debian's postgresql package "
    f"(initdb under {DEBIAN_INITDB_GLOB}) so a throwaway cluster can be started"
)

ServerKind = Literal["env", "local", "temporary"]
T = TypeVar("T")

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_CONNECT_TIMEOUT = 5.0


class PostgresUnavailable(RuntimeError):
    """A PostgreSQL server was required or configured but could not be used."""


@dataclass
class PostgresServer:
    """A server the tests may use. ``base_url`` points at its ``postgres`` admin database."""

    base_url: str
    kind: ServerKind
    data_dir: Path | None = None
    log_file: Path | None = None
    port: int | None = None
    _stopper: Callable[[], None] | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop and delete a throwaway cluster; a no-op for servers we did not start."""
        stopper, self._stopper = self._stopper, None
        if stopper is not None:
            with contextlib.suppress(Exception):
                atexit.unregister(self.stop)
            stopper()


# --------------------------------------------------------------------------- URLs


def asyncpg_dsn(url: str) -> str:
    """``url`` as asyncpg wants it: ``postgresql+asyncpg://`` and the like become ``postgresql://``."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    return urlunsplit(parts._replace(scheme="postgresql"))


def with_database(url: str, database: str) -> str:
    """``url`` pointing at ``database`` instead, keeping scheme, credentials, host and query."""
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


def database_name(url: str) -> str:
    """The database that ``url`` names (empty if it names none)."""
    return urlsplit(url).path.lstrip("/")


def _quote_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"refusing an unusual SQL identifier: {name!r}")
    return f'"{name}"'


# --------------------------------------------------------------------------- running async code


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to the end from sync code, even when an event loop is already running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _connect(url: str, timeout: float = _CONNECT_TIMEOUT) -> Any:
    return await asyncpg.connect(asyncpg_dsn(url), timeout=timeout)


# --------------------------------------------------------------------------- probing


async def server_problem_async(url: str, timeout: float = 3.0) -> str | None:
    """``None`` when ``url`` accepts a connection and ``SELECT 1``; else what went wrong."""
    try:
        conn = await _connect(url, timeout=timeout)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    try:
        await conn.fetchval("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await conn.close()
    return None


def server_problem(url: str, timeout: float = 3.0) -> str | None:
    """Sync :func:`server_problem_async`."""
    return run_sync(server_problem_async(url, timeout))


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


# --------------------------------------------------------------------------- throwaway cluster


def _version_key(initdb: str) -> tuple[int, ...]:
    version = Path(initdb).parent.parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def find_postgres_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: ``$FOTP_TEST_POSTGRES_BINDIR``, else the
    newest Debian ``/usr/lib/postgresql/N/bin``, else wherever ``initdb`` is on ``PATH``."""
    override = os.environ.get(ENV_BINDIR)
    candidates: list[Path] = [Path(override)] if override else []
    debian = sorted(
        (str(path) for path in Path("/").glob(DEBIAN_INITDB_GLOB.lstrip("/"))),
        key=_version_key,
        reverse=True,
    )
    candidates += [Path(initdb).parent for initdb in debian]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _cluster_os_user() -> pwd.struct_passwd | None:
    """As root, the unprivileged user the cluster runs as (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    wanted = os.environ.get(ENV_OS_USER)
    for name in (wanted,) if wanted else ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable(
        f"running as root and no OS user {wanted or 'postgres'!r} to run PostgreSQL as"
    )


def _as_user(user: pwd.struct_passwd | None, argv: list[str]) -> list[str]:
    if user is None:
        return argv
    if shutil.which("runuser"):
        return ["runuser", "-u", user.pw_name, "--", *argv]
    return ["su", user.pw_name, "-s", "/bin/sh", "-c", shlex.join(argv)]


def _world_traversable(path: Path) -> bool:
    for part in (path, *path.parents):
        try:
            if not part.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _make_cluster_root(user: pwd.struct_passwd | None) -> Path:
    parent: str | None = None
    if user is not None and not _world_traversable(Path(tempfile.gettempdir())):
        parent = "/tmp"  # the other user must be able to reach the folder
    root = Path(tempfile.mkdtemp(prefix="fotp-pg-", dir=parent))
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    return root


def _clean_env() -> dict[str, str]:
    # PGPORT, PGDATA, PGHOST and friends from the caller must not steer initdb or pg_ctl.
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_temporary_cluster(
    *, bindir: Path | None = None, port: int | None = None, timeout: float = 60.0
) -> PostgresServer:
    """initdb a new cluster (trust auth, superuser ``postgres``) in a temporary folder and start
    it on ``127.0.0.1:port`` (a free port when not given). Call ``.stop()`` on the result."""
    bindir = bindir or find_postgres_bindir()
    if bindir is None:
        raise PostgresUnavailable(SKIP_REASON)
    user = _cluster_os_user()
    root = _make_cluster_root(user)
    data_dir, log_file = root / "data", root / "postgres.log"
    env = _clean_env()

    def run(argv: list[str], limit: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _as_user(user, argv),
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=limit,
            check=False,
        )

    def stop() -> None:
        with contextlib.suppress(Exception):
            run([str(bindir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w", "stop"], 60)
        shutil.rmtree(root, ignore_errors=True)

    try:
        initdb = run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            timeout,
        )
        if initdb.returncode != 0:
            raise PostgresUnavailable(
                f"initdb failed ({initdb.returncode}):\n{initdb.stdout}\n{initdb.stderr}"
            )
        attempts = 1 if port is not None else 3
        for attempt in range(attempts):
            chosen = port if port is not None else _free_port()
            options = (
                f"-k {shlex.quote(str(root))} -c listen_addresses=127.0.0.1 -p {chosen} "
                "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
            )
            started = run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data_dir),
                    "-l",
                    str(log_file),
                    "-w",
                    "-t",
                    str(int(timeout)),
                    "-o",
                    options,
                    "start",
                ],
                timeout + 10,
            )
            if started.returncode == 0:
                break
            log = _tail(log_file)
            if attempt + 1 < attempts and "could not bind" in log:
                continue  # someone took the port in between: try another
            raise PostgresUnavailable(
                f"pg_ctl start failed ({started.returncode}) on port {chosen}:\n"
                f"{started.stdout}\n{started.stderr}\n--- {log_file} ---\n{log}"
            )
    except BaseException:
        stop()
        raise

    server = PostgresServer(
        base_url=f"postgresql://postgres@127.0.0.1:{chosen}/postgres",
        kind="temporary",
        data_dir=data_dir,
        log_file=log_file,
        port=chosen,
        _stopper=stop,
    )
    atexit.register(server.stop)  # a safety net if the caller never stops it
    problem = server_problem(server.base_url, timeout=10.0)
    if problem is not None:
        server.stop()
        raise PostgresUnavailable(f"throwaway cluster started but does not answer: {problem}")
    return server


# --------------------------------------------------------------------------- choosing a server


def find_postgres(*, force_temporary: bool | None = None) -> PostgresServer | None:
    """A server for the tests (see the module doc for the order), or ``None`` when there is none.

    ``force_temporary`` defaults to ``$FOTP_TEST_POSTGRES_TEMPORARY``. A throwaway cluster must be
    stopped: call ``.stop()`` or use :func:`postgres_server`.
    """
    if force_temporary is None:
        force_temporary = _env_flag(ENV_FORCE_TEMPORARY)
    if not force_temporary:
        configured = os.environ.get(ENV_URL, "").strip()
        if configured:
            problem = server_problem(configured)
            if problem is not None:
                raise PostgresUnavailable(f"{ENV_URL}={configured} does not answer: {problem}")
            return PostgresServer(base_url=configured, kind="env", port=urlsplit(configured).port)
    local = None if force_temporary else _local_server()
    if find_postgres_bindir() is not None:
        try:
            return start_temporary_cluster()
        except PostgresUnavailable:
            if local is None:
                raise
    if local is not None:
        return local
    if _env_flag(ENV_REQUIRED):
        raise PostgresUnavailable(f"{ENV_REQUIRED} is set but there is {SKIP_REASON}")
    return None


def _local_server() -> PostgresServer | None:
    """The trust-auth server on 127.0.0.1:5432, if there is one."""
    if _port_open("127.0.0.1", 5432) and server_problem(LOCAL_URL) is None:
        return PostgresServer(base_url=LOCAL_URL, kind="local", port=5432)
    return None


@contextlib.contextmanager
def postgres_server(*, force_temporary: bool | None = None) -> Iterator[PostgresServer | None]:
    """:func:`find_postgres` as a context manager that stops a throwaway cluster at the end."""
    server = find_postgres(force_temporary=force_temporary)
    try:
        yield server
    finally:
        if server is not None:
            server.stop()


# --------------------------------------------------------------------------- databases


async def create_database_async(
    base_url: str,
    *,
    extensions: Sequence[str] = (),
    prefix: str = TEST_DB_PREFIX,
    template: str | None = None,
) -> str:
    """Create a fresh, uniquely named UTF8/C database on ``base_url``'s server and return its URL
    (same scheme and credentials as ``base_url``). ``extensions`` are created in it, e.g.
    ``("pg_trgm",)``. ``template`` names a database (of ours, without open connections) to
    copy instead of an empty one: a copy of a migrated database is a fraction of a migration."""
    name = f"{prefix}{uuid.uuid4().hex[:16]}"
    admin = await _connect(base_url)
    try:
        if template is None:
            await admin.execute(
                f"CREATE DATABASE {_quote_identifier(name)} "
                "TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            )
        else:
            await admin.execute(
                f"CREATE DATABASE {_quote_identifier(name)} TEMPLATE {_quote_identifier(template)}"
            )
    finally:
        await admin.close()
    url = with_database(base_url, name)
    if extensions:
        conn = await _connect(url)
        try:
            for extension in extensions:
                await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {_quote_identifier(extension)}")
        finally:
            await conn.close()
    return url


async def drop_database_async(url: str, *, base_url: str | None = None) -> None:
    """Drop the database ``url`` names, closing its open connections. Only databases named with
    :data:`TEST_DB_PREFIX` are dropped; anything else raises ``ValueError``. ``base_url`` is where
    to connect to do it (default: the ``postgres`` database on the same server)."""
    name = database_name(url)
    if not name.startswith(TEST_DB_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a test database ({TEST_DB_PREFIX}*)")
    admin = await _connect(base_url or with_database(url, "postgres"))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {_quote_identifier(name)} WITH (FORCE)")
    finally:
        await admin.close()


def create_database(
    base_url: str, *, extensions: Sequence[str] = (), template: str | None = None
) -> str:
    """Sync :func:`create_database_async`."""
    return run_sync(create_database_async(base_url, extensions=extensions, template=template))


def drop_database(url: str, *, base_url: str | None = None) -> None:
    """Sync :func:`drop_database_async`."""
    run_sync(drop_database_async(url, base_url=base_url))


@contextlib.contextmanager
def fresh_database(
    base_url: str, *, extensions: Sequence[str] = (), template: str | None = None
) -> Iterator[str]:
    """Yield the URL of a new database on ``base_url``'s server (a copy of ``template`` if
    given); drop it afterwards."""
    url = create_database(base_url, extensions=extensions, template=template)
    try:
        yield url
    finally:
        drop_database(url, base_url=base_url)


@contextlib.asynccontextmanager
async def fresh_database_async(
    base_url: str, *, extensions: Sequence[str] = ()
) -> AsyncIterator[str]:
    """Async :func:`fresh_database`, for async fixtures."""
    url = await create_database_async(base_url, extensions=extensions)
    try:
        yield url
    finally:
        await drop_database_async(url, base_url=base_url)
