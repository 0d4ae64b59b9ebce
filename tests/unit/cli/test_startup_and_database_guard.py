"""``--help`` loads no server machinery; only ``serve`` and ``migrate`` create a database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from failover_otp.cli.main import app

HEAVY = ("sqlalchemy", "fastapi", "httpx", "pydantic_settings", "uvicorn", "structlog", "asyncio")


def test_the_cli_module_imports_none_of_the_server_machinery() -> None:
    # A fresh interpreter: this one has imported everything already.
    probe = (
        "import sys, failover_otp.cli.main; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"


@pytest.mark.parametrize(
    "command",
    [
        ["apps", "list"],
        ["apps", "create", "x"],
        ["apps", "rotate-secret", "a"],
        ["apps", "webhook-secret", "a"],
        ["apps", "disable", "a"],
        ["worker"],
        ["operators", "list"],
        ["audit", "list"],
        ["purge"],
    ],
)
def test_commands_refuse_to_create_a_database(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FOTP_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, command, env={"COLUMNS": "300"})
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert f"no database at {tmp_path / 'data' / 'failover-otp.db'}" in text
    assert "failover-otp migrate" in text
    assert not (tmp_path / "data").exists()


def test_migrate_creates_the_database_and_then_apps_list_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/made.db"
    runner = CliRunner()
    assert runner.invoke(app, ["apps", "list", "--database-url", url]).exit_code == 2
    assert runner.invoke(app, ["migrate", "--database-url", url]).exit_code == 0
    assert (tmp_path / "made.db").exists()
    listed = runner.invoke(app, ["apps", "list", "--database-url", url])
    assert listed.exit_code == 0, listed.output
