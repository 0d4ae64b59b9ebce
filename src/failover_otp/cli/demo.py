"""The demo application `make run` creates once and prints at every start."""

from __future__ import annotations

import json
import os
from pathlib import Path

from failover_otp.services.auth import AuthService, Credentials

DEMO_FILE = "demo-credentials.json"


def demo_credentials_path(data_dir: str) -> Path:
    return Path(data_dir) / DEMO_FILE


def read_demo_credentials(data_dir: str) -> Credentials | None:
    path = demo_credentials_path(data_dir)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Credentials(data["applicationId"], data["applicationSecret"])


async def ensure_demo_application(auth: AuthService, data_dir: str) -> Credentials:
    """The demo credentials, creating the application the first time.

    Secrets are stored hashed, so the plain secret is kept in a file only the owner can read,
    beside the SQLite database, for a newcomer's convenience; production never uses --demo.
    """
    existing = read_demo_credentials(data_dir)
    if existing is not None and await auth.store.get(existing.application_id) is not None:
        return existing
    credentials = await auth.create_application("demo")
    path = demo_credentials_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(
            {
                "applicationId": credentials.application_id,
                "applicationSecret": credentials.application_secret,
            },
            out,
        )
    return credentials
