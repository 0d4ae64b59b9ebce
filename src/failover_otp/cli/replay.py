"""``failover-otp replay --since 7d``: what other failover policies would have done with an
application's recorded Viber → SMS flows (docs/adaptive-failover.md#what-if-replay)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer

from failover_otp.cli.app_credentials import DatabaseUrl, Runner, SettingsLoader, duration
from failover_otp.cli.output import console


def register(app: typer.Typer, load_settings: SettingsLoader, run: Runner) -> None:
    @app.command("replay")
    def replay_command(
        since: Annotated[str, typer.Option(help="the period: flows created this long ago")] = "7d",
        app_id: Annotated[
            str | None,
            typer.Option("--app", help="the application (default: the only one there is)"),
        ] = None,
        min_ttl: Annotated[float, typer.Option("--min", help="auto's lower bound, s")] = 5.0,
        max_ttl: Annotated[float, typer.Option("--max", help="auto's upper bound, s")] = 120.0,
        database_url: DatabaseUrl = None,
        as_json: Annotated[bool, typer.Option("--json", help="print JSON only")] = False,
    ) -> None:
        """Replay recorded flows under fixed ttls of 10-120 s and auto at each threshold."""
        period = duration(since)
        settings = load_settings(database_url=database_url)

        async def main() -> dict[str, Any] | str:
            from failover_otp.bootstrap import open_services

            async with open_services(settings) as services:
                chosen = app_id
                if chosen is None:
                    apps = await services.apps.all()
                    if len(apps) != 1:
                        return f"{len(apps)} applications: name one with --app"
                    chosen = apps[0].id
                flows, skipped, results = await services.timing.replay(
                    chosen, period, min_ttl=min_ttl, max_ttl=max_ttl
                )
            return {
                "applicationId": chosen,
                "since": since,
                "flows": flows,
                "skipped": skipped,
                "policies": [asdict(r) for r in results],
            }

        report = run(main())
        if isinstance(report, str):
            console().print(f"[red]{report}[/]")
            raise typer.Exit(1)
        if as_json:
            typer.echo(json.dumps(report))
            return
        _print(report)


def _print(report: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(
        title=f"{report['flows']} Viber → SMS flows of the last {report['since']} "
        f"({report['skipped']} other flows skipped)"
    )
    for column in ("policy", "codes", "median s", "p95 s", "both channels", "cost / code"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for row in report["policies"]:
        table.add_row(
            row["policy"],
            f"{row['codes']}/{row['flows']}",
            _num(row["median_seconds"]),
            _num(row["p95_seconds"]),
            f"{row['both_channels_share']:.1%}",
            _num(row["cost_per_code"], 4),
        )
    console().print(table)


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
