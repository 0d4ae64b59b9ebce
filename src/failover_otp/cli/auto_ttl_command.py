"""``apps auto-ttl``: an application's ``"ttl": "auto"`` bounds and threshold, and whether a step
that omits its ttl gets auto (docs/adaptive-failover.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from failover_otp.cli.app_credentials import DatabaseUrl, Runner, SettingsLoader
from failover_otp.cli.output import console


def register(apps_app: typer.Typer, load_settings: SettingsLoader, run: Runner) -> None:
    @apps_app.command("auto-ttl")
    def apps_auto_ttl(
        app_id: str,
        min_seconds: Annotated[
            float, typer.Option("--min", min=0.001, help="lower bound, seconds")
        ] = 5.0,
        max_seconds: Annotated[
            float, typer.Option("--max", min=0.001, max=86_400, help="upper bound, seconds")
        ] = 120.0,
        threshold: Annotated[
            float,
            typer.Option(
                min=0.01,
                max=0.99,
                help="fail over once this share of the deliveries expected within --max arrived",
            ),
        ] = 0.95,
        default: Annotated[
            bool, typer.Option("--default", help="steps that omit ttl get auto")
        ] = False,
        clear: Annotated[
            bool, typer.Option("--clear", help="remove the settings (the service's apply)")
        ] = False,
        database_url: DatabaseUrl = None,
    ) -> None:
        """Set an application's auto ttl settings (or --clear them)."""
        if min_seconds > max_seconds:
            raise typer.BadParameter("--min must not exceed --max")
        settings = load_settings(database_url=database_url)

        async def main() -> dict[str, Any] | None:
            from failover_otp.bootstrap import open_services
            from failover_otp.cli.admin_commands import cli_audit
            from failover_otp.domain.adaptive_ttl import AutoTtl

            async with open_services(settings) as services:
                if await services.apps.get(app_id) is None:
                    return None
                if clear:
                    await services.auto_ttl.clear(app_id)
                    shown: dict[str, Any] = {"applicationId": app_id, "autoTtl": None}
                else:
                    bounds = AutoTtl(min_seconds, max_seconds, threshold)
                    await services.auto_ttl.set(app_id, bounds, is_default=default)
                    shown = {
                        "applicationId": app_id,
                        "autoTtl": {
                            "minTtl": min_seconds,
                            "maxTtl": max_seconds,
                            "threshold": threshold,
                            "default": default,
                        },
                    }
                await cli_audit(
                    services, "application.auto_ttl_set", app_id, autoTtl=shown["autoTtl"]
                )
                return shown

        shown = run(main())
        if shown is None:
            console().print(f"[red]no application {app_id}[/]")
            raise typer.Exit(1)
        typer.echo(json.dumps(shown))
