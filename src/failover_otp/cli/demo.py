"""The demo application `make run` creates once and prints at every start.

``data/demo-credentials.json`` holds its id, its secret and the URL the service listens on, so
the CLI (``send``, ``track``, ...) and the quickstart's Python find the service on any port.
The file is rewritten whenever one of them changes: at each ``serve --demo`` (the port may be
new) and when ``apps rotate-secret`` rotates the demo application's secret.

Only the standard library at import time: every CLI command, ``--help`` included, reads this.
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from failover_otp.services.auth import AuthService

DEMO_FILE = "demo-credentials.json"
DEMO_APPLICATION_NAME = "demo"
# Where the CLI looks when neither --url, FOTP_API_URL nor the demo file says otherwise.
DEFAULT_URL = "http://127.0.0.1:8080"
# Addresses a server binds to but a client cannot connect to: the client uses loopback.
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


@dataclass(frozen=True, slots=True)
class DemoCredentials:
    application_id: str
    application_secret: str
    # The service's base URL; None in files written before it was stored.
    url: str | None = None


def service_url(host: str, port: int) -> str:
    """The base URL a client on this machine reaches a service bound to ``host:port`` at."""
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


def demo_credentials_path(data_dir: str) -> Path:
    return Path(data_dir) / DEMO_FILE


def read_demo_credentials(data_dir: str) -> DemoCredentials | None:
    path = demo_credentials_path(data_dir)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return DemoCredentials(data["applicationId"], data["applicationSecret"], data.get("url"))


def write_demo_credentials(data_dir: str, credentials: DemoCredentials) -> None:
    """Secrets are stored hashed, so the plain secret is kept in a file only the owner can
    read, beside the SQLite database, for a newcomer's convenience; production never uses
    --demo."""
    path = demo_credentials_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(
            {
                "applicationId": credentials.application_id,
                "applicationSecret": credentials.application_secret,
                "url": credentials.url,
            },
            out,
            indent=2,
        )
        out.write("\n")


async def _secret_is_live(auth: AuthService, credentials: DemoCredentials) -> bool | None:
    """True: the secret opens the application; False: it was rotated; None: no application."""
    from failover_otp.services.auth import digest

    application = await auth.store.get(credentials.application_id)
    if application is None or application.disabled:
        return None
    return hmac.compare_digest(application.secret_hash, digest(credentials.application_secret))


async def ensure_demo_application(
    auth: AuthService, data_dir: str, url: str
) -> tuple[DemoCredentials, str | None]:
    """The demo credentials, stored with ``url``; and a note when they had to change.

    The first time, the application is created. If the stored secret no longer opens it (it
    was rotated with credentials kept elsewhere), the demo application gets a new one: the
    secret printed at start always works.
    """
    existing = read_demo_credentials(data_dir)
    live = await _secret_is_live(auth, existing) if existing is not None else None
    note = None
    if existing is not None and live:
        credentials = DemoCredentials(existing.application_id, existing.application_secret, url)
    elif existing is not None and live is False:
        rotated = await auth.rotate_secret(existing.application_id)
        assert rotated is not None  # _secret_is_live found the application
        credentials = DemoCredentials(rotated.application_id, rotated.application_secret, url)
        note = (
            f"the secret in {demo_credentials_path(data_dir)} no longer opened the demo "
            "application (rotated elsewhere): it has a new one"
        )
    else:
        created = await auth.create_application(DEMO_APPLICATION_NAME)
        credentials = DemoCredentials(created.application_id, created.application_secret, url)
    if credentials != existing:
        write_demo_credentials(data_dir, credentials)
    return credentials, note


def update_demo_secret(data_dir: str, application_id: str, secret: str) -> bool:
    """After ``apps rotate-secret``: keep the demo file's secret in step (True if it was the
    demo application's)."""
    existing = read_demo_credentials(data_dir)
    if existing is None or existing.application_id != application_id:
        return False
    write_demo_credentials(data_dir, DemoCredentials(application_id, secret, existing.url))
    return True
