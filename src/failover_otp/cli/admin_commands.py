"""``failover-otp operators ...``, ``audit list`` and ``purge``: operator accounts, the audit
trail and the data-retention job, run against the database like ``apps``. Every change is
written to the audit trail as ``cli:<os user>``."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from failover_otp.cli.output import console

if TYPE_CHECKING:
    from failover_otp.bootstrap import Services
    from failover_otp.settings import Settings

T = TypeVar("T")
operators_app = typer.Typer(
    help="Dashboard operator accounts and their roles.", no_args_is_help=True
)
audit_app = typer.Typer(help="The audit trail of admin actions.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="sqlite:///path.db or postgresql://...")
]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON only")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]


def register(app: typer.Typer) -> None:
    app.add_typer(operators_app, name="operators")
    app.add_typer(audit_app, name="audit")
    app.command()(purge)


def _settings(database_url: str | None) -> Settings:
    """The settings, refusing (like ``apps``) to create an empty database."""
    from failover_otp.cli.database_guard import MissingDatabase, require_existing_database
    from failover_otp.settings import Settings

    settings = Settings(database_url=database_url) if database_url else Settings()
    try:
        require_existing_database(settings.database_url)
    except MissingDatabase as missing:
        console().print(f"[red]{missing}[/]", soft_wrap=True)
        raise typer.Exit(2) from None
    return settings


def _run(database_url: str | None, work: Callable[[Services], Awaitable[T]]) -> T:
    """Run ``work`` on the services; a refused change exits 1 with its reason."""
    from failover_otp.services.operators import OperatorError

    settings = _settings(database_url)

    async def main() -> T:
        from failover_otp.bootstrap import open_services

        async with open_services(settings) as services:
            return await work(services)

    import asyncio

    try:
        return asyncio.run(main())
    except OperatorError as exc:
        console().print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None


async def cli_audit(
    services: Services, action: str, application_id: str | None = None, **detail: Any
) -> None:
    """Record an admin action taken from the command line."""
    from failover_otp.services.audit import cli_actor

    await services.audit.record(cli_actor(), action, application_id=application_id, **detail)


def operator_service(services: Services) -> Any:
    return services.operators


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return password


# -- operators ---------------------------------------------------------------------------------


@operators_app.command("add")
def operators_add(
    username: str,
    role: Annotated[str | None, typer.Option(help="viewer or admin (with --app)")] = None,
    app_id: Annotated[str | None, typer.Option("--app", help="the application of --role")] = None,
    password_stdin: PasswordStdin = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an operator (asks for the password: 15 to 256 characters)."""
    if (role is None) != (app_id is None):
        console().print("[red]--role and --app go together[/]")
        raise typer.Exit(2)
    password = _password(password_stdin)

    async def work(services: Services) -> str:
        operators = operator_service(services)
        operator = await operators.add(username, password)
        await cli_audit(services, "operator.add", None, operator=operator.username)
        if role is not None and app_id is not None:
            await operators.set_role(operator.username, app_id, role)
            await cli_audit(
                services, "operator.set_role", app_id, operator=operator.username, role=role
            )
        return str(operator.username)

    console().print(f"operator {_run(database_url, work)} added")


@operators_app.command("set-role")
def operators_set_role(
    username: str,
    app_id: Annotated[str, typer.Argument(help="the application")],
    role: Annotated[str, typer.Argument(help="viewer, admin, or none (no access)")],
    database_url: DatabaseUrl = None,
) -> None:
    """Give an operator a role on an application, or take it away (none): at once, their
    open sessions included."""

    async def work(services: Services) -> None:
        given = None if role == "none" else role
        operator = await operator_service(services).set_role(username, app_id, given)
        await cli_audit(
            services, "operator.set_role", app_id, operator=operator.username, role=role
        )

    _run(database_url, work)
    console().print(f"{username}: {role} on {app_id}")


def _set_disabled(username: str, disabled: bool, database_url: str | None) -> None:
    async def work(services: Services) -> None:
        operator = await operator_service(services).set_disabled(username, disabled)
        action = "operator.disable" if disabled else "operator.enable"
        await cli_audit(services, action, None, operator=operator.username)

    _run(database_url, work)


@operators_app.command("disable")
def operators_disable(username: str, database_url: DatabaseUrl = None) -> None:
    """Disable an operator: their sessions end at once, in every process."""
    _set_disabled(username, True, database_url)
    console().print(f"{username} disabled")


@operators_app.command("enable")
def operators_enable(username: str, database_url: DatabaseUrl = None) -> None:
    """Enable a disabled operator again."""
    _set_disabled(username, False, database_url)
    console().print(f"{username} enabled")


@operators_app.command("set-password")
def operators_set_password(
    username: str, password_stdin: PasswordStdin = False, database_url: DatabaseUrl = None
) -> None:
    """Give an operator a new password (their open sessions end)."""
    password = _password(password_stdin)

    async def work(services: Services) -> None:
        operator = await operator_service(services).set_password(username, password)
        await cli_audit(services, "operator.set_password", None, operator=operator.username)

    _run(database_url, work)
    console().print(f"{username}: password changed")


@operators_app.command("list")
def operators_list(database_url: DatabaseUrl = None, as_json: AsJson = False) -> None:
    """Operators, whether they are enabled, and their roles."""

    async def work(services: Services) -> list[dict[str, Any]]:
        return [
            {
                "username": view.username,
                "disabled": view.disabled,
                "roles": [
                    {"applicationId": g.application_id, "name": g.application_name, "role": g.role}
                    for g in view.grants
                ],
            }
            for view in await operator_service(services).all()
        ]

    rows = _run(database_url, work)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        roles = ", ".join(
            f"{r['role']} of {r['applicationId']} ({r['name']})" for r in row["roles"]
        )
        state = "disabled" if row["disabled"] else "enabled"
        typer.echo(f"{row['username']}  {state}  {roles or 'no roles'}")


# -- audit ---------------------------------------------------------------------------------------


@audit_app.command("list")
def audit_list(
    app_id: Annotated[str | None, typer.Option("--app", help="one application's entries")] = None,
    since: Annotated[
        datetime | None, typer.Option(help="entries from this time on (ISO 8601, UTC if naive)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """What admins did, newest first."""
    from datetime import UTC

    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)

    async def work(services: Services) -> list[dict[str, Any]]:
        entries = await services.audit.store.recent(application_id=app_id, since=since, limit=limit)
        return [{**asdict(e), "at": e.at.isoformat()} for e in entries]

    rows = _run(database_url, work)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    # One whole line per entry (nothing cut to the terminal's width).
    for row in rows:
        fields = (row["at"], row["actor"], row["action"], row["application_id"], row["detail"])
        typer.echo("  ".join(f or "-" for f in fields))


# -- purge ---------------------------------------------------------------------------------------


def purge(database_url: DatabaseUrl = None, as_json: AsJson = False) -> None:
    """Delete expired tokens, sessions, idempotency keys, finished webhook events, and flows
    older than FOTP_FLOW_RETENTION_DAYS (if set), in batches; what the worker does every
    FOTP_PURGE_INTERVAL_SECONDS."""

    async def work(services: Services) -> dict[str, int]:
        done = await services.housekeeping().purge()
        await cli_audit(services, "data.purge", None, **{k: v for k, v in done.items() if v})
        return done

    done = _run(database_url, work)
    if as_json:
        typer.echo(json.dumps(done))
        return
    for name, count in done.items():
        console().print(f"{name:20} {count}")
