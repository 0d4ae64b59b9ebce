"""The demo credentials file keeps the service URL and a secret that works (issue 17, item 3):
``serve --demo`` stores the URL it listens on, never prints a secret that was rotated away,
and ``apps rotate-secret`` of the demo application rewrites the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.security_stack import memory_stack
from typer.testing import CliRunner

from failover_otp.cli.demo import (
    ensure_demo_application,
    read_demo_credentials,
    service_url,
)
from failover_otp.cli.main import app
from failover_otp.services.auth import AuthService


def test_the_url_a_client_uses() -> None:
    assert service_url("127.0.0.1", 9000) == "http://127.0.0.1:9000"
    assert service_url("0.0.0.0", 9000) == "http://127.0.0.1:9000"
    assert service_url("::1", 9000) == "http://[::1]:9000"


async def test_the_demo_file_follows_the_port_and_outlives_a_rotation(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    async with memory_stack() as stack:
        auth = AuthService(stack.storage.apps, stack.clock)
        first, note = await ensure_demo_application(auth, data, "http://127.0.0.1:9001")
        assert note is None
        assert read_demo_credentials(data) == first
        assert first.url == "http://127.0.0.1:9001"
        assert oct((tmp_path / "data" / "demo-credentials.json").stat().st_mode & 0o777) == "0o600"

        # The next start, on another port: the same application, the new URL.
        again, note = await ensure_demo_application(auth, data, "http://127.0.0.1:9002")
        assert (again.application_id, again.application_secret, note) == (
            first.application_id,
            first.application_secret,
            None,
        )
        assert read_demo_credentials(data) == again

        # Rotated with the new secret kept elsewhere: the next start gives it a secret that
        # works, instead of printing the dead one.
        await auth.rotate_secret(first.application_id)
        revived, note = await ensure_demo_application(auth, data, "http://127.0.0.1:9002")
        assert note is not None
        assert "new one" in note
        assert revived.application_id == first.application_id
        assert revived.application_secret != first.application_secret
        assert await auth.issue_token(revived.application_id, revived.application_secret)
        assert read_demo_credentials(data) == revived


def test_rotating_the_demo_secret_rewrites_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    created = runner.invoke(app, ["apps", "create", "demo", "--json"])
    creds = json.loads(created.output)
    demo_file = tmp_path / "data" / "demo-credentials.json"
    demo_file.write_text(json.dumps({**creds, "url": "http://127.0.0.1:9003"}))
    other = json.loads(runner.invoke(app, ["apps", "create", "other", "--json"]).output)

    rotated = runner.invoke(app, ["apps", "rotate-secret", creds["applicationId"]])
    assert rotated.exit_code == 0, rotated.output
    new_secret = rotated.output.split("applicationSecret:")[1].split()[0]
    saved = json.loads(demo_file.read_text())
    assert saved == {**creds, "applicationSecret": new_secret, "url": "http://127.0.0.1:9003"}

    # Another application's rotation leaves the demo file alone.
    assert runner.invoke(app, ["apps", "rotate-secret", other["applicationId"]]).exit_code == 0
    assert json.loads(demo_file.read_text()) == saved
