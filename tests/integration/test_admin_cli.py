"""``failover-otp operators``, ``audit list`` and ``purge``, run as an operator would."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.integration.test_housekeeping import add_application
from tests.support.security_stack import otp_body, security_stack
from typer.testing import CliRunner

from failover_otp.cli.main import app as cli_app

PASSWORD = "correct horse battery staple"


def run(database_url: str, *args: str, stdin: str | None = None, **env: str) -> Any:
    return CliRunner().invoke(
        cli_app, list(args), input=stdin, env={"FOTP_DATABASE_URL": database_url, **env}
    )


def test_operators_are_managed_from_the_cli_and_audited(database_url: str) -> None:
    assert run(database_url, "migrate").exit_code == 0
    created = run(database_url, "apps", "create", "shop", "--json")
    assert created.exit_code == 0, created.output
    app_id = json.loads(created.output)["applicationId"]

    added = run(
        database_url, "operators", "add", "alice", "--role", "viewer", "--app", app_id,
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    short = run(database_url, "operators", "add", "bob", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1
    assert "15 to 256" in short.output
    assert run(database_url, "operators", "set-role", "alice", app_id, "admin").exit_code == 0
    assert run(database_url, "operators", "set-role", "alice", app_id, "owner").exit_code == 1
    assert run(database_url, "operators", "disable", "alice").exit_code == 0

    listed = json.loads(run(database_url, "operators", "list", "--json").output)
    assert listed == [
        {
            "username": "alice",
            "disabled": True,
            "roles": [{"applicationId": app_id, "name": "shop", "role": "admin"}],
        }
    ]
    assert run(database_url, "apps", "rotate-secret", app_id).exit_code == 0
    assert run(database_url, "apps", "disable", app_id).exit_code == 0

    trail = json.loads(run(database_url, "audit", "list", "--json").output)
    assert [e["action"] for e in trail] == [
        "application.disable",
        "application.rotate_secret",
        "operator.disable",
        "operator.set_role",
        "operator.set_role",
        "operator.add",
    ]
    assert all(e["actor"].startswith("cli:") for e in trail)
    assert json.loads(trail[3]["detail"]) == {"operator": "alice", "role": "admin"}
    mine = json.loads(run(database_url, "audit", "list", "--app", app_id, "--json").output)
    assert {e["application_id"] for e in mine} == {app_id}
    assert len(mine) == 4
    assert PASSWORD not in json.dumps(trail)


def test_purge_command_applies_the_retention_setting(database_url: str) -> None:
    async def create_old_flow() -> None:
        async with security_stack(database_url) as stack:
            await add_application(stack)
            await stack.send_otp(otp_body())  # dated 2026-11-24 by the stack's clock

    asyncio.run(create_old_flow())
    kept = run(database_url, "purge", "--json")
    assert kept.exit_code == 0, kept.output
    assert json.loads(kept.output)["flows"] == 0
    purged = run(database_url, "purge", "--json", FOTP_FLOW_RETENTION_DAYS="1")
    assert purged.exit_code == 0, purged.output
    assert json.loads(purged.output)["flows"] == 1
    trail = json.loads(run(database_url, "audit", "list", "--json").output)
    assert [e["action"] for e in trail] == ["data.purge", "data.purge"]
    assert json.loads(trail[0]["detail"]) == {"flows": 1}  # newest first
    assert "flows" not in json.loads(trail[1]["detail"] or "{}")
