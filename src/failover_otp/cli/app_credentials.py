"""``apps disable|enable|rotate-webhook-secret``: end an application's access at once, and
rotate its webhook secret with an overlap window (docs/security.md, docs/webhooks.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from failover_otp.cli.output import console

if TYPE_CHECKING:
    from failover_otp.services.auth import AuthService
    from failover_otp.settings import Settings

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="sqlite:///path.db or postgresql://...")
]
SettingsLoader = Callable[..., "Settings"]
Runner = Callable[[Coroutine[Any, Any, Any]], Any]

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``24h``, ``2d`` or plain seconds."""
    value = text.strip().lower()
    unit = _DURATION_UNITS.get(value[-1:])
    try:
        amount = float(value[:-1] if unit else value)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a duration like 24h, 30m or 90s") from None
    return timedelta(seconds=amount * (unit or 1))


def register(apps_app: typer.Typer, load_settings: SettingsLoader, run: Runner) -> None:
    def with_auth(
        database_url: str | None,
        action: Callable[[AuthService], Any],
        audited: tuple[str, str] | None = None,
    ) -> Any:
        """Run ``action``; when it succeeds, ``audited`` (action, application) goes to the audit
        trail."""
        settings = load_settings(database_url=database_url)

        async def main() -> Any:
            from failover_otp.bootstrap import open_services
            from failover_otp.cli.admin_commands import cli_audit

            async with open_services(settings) as services:
                result = await action(services.auth)
                if result and audited is not None:
                    await cli_audit(services, *audited)
                return result

        return run(main())

    def set_disabled(app_id: str, database_url: str | None, disabled: bool) -> None:
        audited = ("application.disable" if disabled else "application.enable", app_id)
        if not with_auth(database_url, lambda auth: auth.set_disabled(app_id, disabled), audited):
            console().print(f"[red]no application {app_id}[/]")
            raise typer.Exit(1)
        console().print(f"application {app_id} {'disabled' if disabled else 'enabled'}")

    @apps_app.command("disable")
    def apps_disable(app_id: str, database_url: DatabaseUrl = None) -> None:
        """Disable an application: its tokens stop working at once, in every process."""
        set_disabled(app_id, database_url, True)

    @apps_app.command("enable")
    def apps_enable(app_id: str, database_url: DatabaseUrl = None) -> None:
        """Enable a disabled application again (it needs new tokens)."""
        set_disabled(app_id, database_url, False)

    @apps_app.command("rotate-webhook-secret")
    def apps_rotate_webhook_secret(
        app_id: str,
        overlap: Annotated[
            str,
            typer.Option(help="how long the old secret keeps signing too (e.g. 24h; 0: stop now)"),
        ] = "24h",
        database_url: DatabaseUrl = None,
        as_json: Annotated[bool, typer.Option("--json", help="print JSON only")] = False,
    ) -> None:
        """A new webhook secret; the old one keeps signing too until the overlap ends."""
        window = duration(overlap)
        try:
            secrets = with_auth(
                database_url,
                lambda auth: auth.rotate_webhook_secret(app_id, window),
                ("application.rotate_webhook_secret", app_id),
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--overlap") from None
        if secrets is None:
            console().print(f"[red]no application {app_id}[/]")
            raise typer.Exit(1)
        until = secrets.previous_until.isoformat() if secrets.previous_until else None
        if as_json:
            answer = {"applicationId": app_id, "webhookSecret": secrets.current}
            typer.echo(json.dumps({**answer, "previousSecretValidUntil": until}))
            return
        typer.echo(secrets.current)
        console().print(f"the previous secret also signs until {until}" if until else "no overlap")
