"""``failover-otp``: serve the API, run workers, migrate, manage applications, use the API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from failover_otp.cli import admin_commands, client_commands
from failover_otp.cli.demo import ensure_demo_application
from failover_otp.logging_setup import configure_logging
from failover_otp.settings import ProviderName, Settings

app = typer.Typer(
    help="One-time passwords over Viber with SMS failover, through Routee.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
apps_app = typer.Typer(help="Manage applications (API clients).", no_args_is_help=True)
app.add_typer(apps_app, name="apps")
client_commands.register(app)
admin_commands.register(app)  # operators, audit, purge
console = Console()

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="sqlite:///path.db or postgresql://...")
]
TimeScale = Annotated[
    float | None, typer.Option("--time-scale", help="run every duration this many times faster")
]


def load_settings(**overrides: Any) -> Settings:
    """CLI options win over FOTP_* variables, which win over defaults."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def _run(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:  # pragma: no cover - uvloop is absent only on Windows
        return asyncio.run(coro)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="port to bind")] = None,
    database_url: DatabaseUrl = None,
    provider: Annotated[ProviderName | None, typer.Option(help="sandbox or routee")] = None,
    time_scale: TimeScale = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="API only; run workers apart")
    ] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="create and print a demo application")
    ] = False,
) -> None:
    """Run the HTTP API (and the failover worker, unless --no-worker)."""
    settings = load_settings(
        host=host,
        port=port,
        database_url=database_url,
        provider=provider,
        time_scale=time_scale,
        run_worker=False if no_worker else None,
    )
    configure_logging(settings.log_level, json=settings.log_json)
    if demo:
        _run(_print_demo(settings))
    import uvicorn

    from failover_otp.web.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="on",
        limit_concurrency=settings.limit_concurrency or None,
    )
    console.print(
        f"[bold]failover-otp[/] listening on http://{settings.host}:{settings.port} "
        f"(provider {settings.provider.value}, worker {'on' if settings.run_worker else 'off'})"
    )
    uvicorn.Server(config).run()


async def _print_demo(settings: Settings) -> None:
    from failover_otp.bootstrap import open_services

    async with open_services(settings) as services:
        creds = await ensure_demo_application(services.auth, settings.data_dir)
    base = f"http://{settings.host}:{settings.port}"
    console.print("[bold green]Demo application[/]")
    console.print(f"  applicationId:     {creds.application_id}")
    console.print(f"  applicationSecret: {creds.application_secret}")
    console.print("Get a token:")
    console.print(
        f"  curl -s -u {creds.application_id}:{creds.application_secret} "
        f"-d grant_type=client_credentials {base}/oauth/token",
        soft_wrap=True,
    )


@app.command()
def worker(
    database_url: DatabaseUrl = None,
    provider: Annotated[ProviderName | None, typer.Option(help="sandbox or routee")] = None,
    time_scale: TimeScale = None,
) -> None:
    """Run a failover worker only (scale out: run many, on many machines)."""
    settings = load_settings(database_url=database_url, provider=provider, time_scale=time_scale)
    configure_logging(settings.log_level, json=settings.log_json)

    async def main() -> None:
        from failover_otp.bootstrap import open_services

        stop = asyncio.Event()
        _install_stop_signals(stop)
        async with open_services(settings) as services:
            await asyncio.gather(
                services.deadline_worker().run(stop),
                services.webhook_worker().run(stop),
                services.housekeeping().run(stop),
            )

    _run(main())


@app.command()
def migrate(database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the database schema."""
    settings = load_settings(database_url=database_url)
    from failover_otp.store.migrate import upgrade

    _run(upgrade(settings.database_url))
    console.print("schema is up to date")


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="port to bind on 127.0.0.1")] = 8090,
    time_scale: Annotated[float, typer.Option("--time-scale")] = 1.0,
    app_id: Annotated[str | None, typer.Option("--app-id", help="accept only this id")] = None,
    app_secret: Annotated[str | None, typer.Option("--app-secret")] = None,
) -> None:
    """Run the Routee sandbox alone, speaking Routee's wire API on loopback."""
    configure_logging("info")
    from failover_otp.providers.sandbox.wire_server import serve_sandbox

    console.print(f"Routee sandbox on http://127.0.0.1:{port} (time scale {time_scale})")

    async def main() -> None:
        stop = asyncio.Event()
        _install_stop_signals(stop)
        task = asyncio.create_task(
            serve_sandbox("127.0.0.1", port, time_scale, app_id=app_id, app_secret=app_secret)
        )
        await stop.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    _run(main())


@apps_app.command("create")
def apps_create(
    name: str,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON only")] = False,
) -> None:
    """Create an application and print its credentials (the secret is shown only once)."""
    settings = load_settings(database_url=database_url)

    async def main() -> dict[str, str]:
        from failover_otp.bootstrap import open_services

        async with open_services(settings) as services:
            creds = await services.auth.create_application(name)
        return {
            "applicationId": creds.application_id,
            "applicationSecret": creds.application_secret,
        }

    result = _run(main())
    if as_json:
        typer.echo(json.dumps(result))
    else:
        console.print(f"applicationId:     {result['applicationId']}")
        console.print(f"applicationSecret: {result['applicationSecret']}  (shown once: keep it)")


@apps_app.command("list")
def apps_list(database_url: DatabaseUrl = None) -> None:
    """List applications."""
    settings = load_settings(database_url=database_url)

    async def main() -> list[Any]:
        from failover_otp.bootstrap import open_services

        async with open_services(settings) as services:
            return await services.apps.all()

    from rich.table import Table

    table = Table("applicationId", "name", "created", "disabled")
    for application in _run(main()):
        table.add_row(
            application.id,
            application.name,
            application.created_at.isoformat(),
            str(application.disabled),
        )
    console.print(table)


@apps_app.command("rotate-secret")
def apps_rotate_secret(app_id: str, database_url: DatabaseUrl = None) -> None:
    """Give an application a new secret; tokens issued with the old one stop working."""
    settings = load_settings(database_url=database_url)

    async def main() -> Any:
        from failover_otp.bootstrap import open_services

        async with open_services(settings) as services:
            creds = await services.auth.rotate_secret(app_id)
            if creds is not None:
                await admin_commands.cli_audit(services, "application.rotate_secret", app_id)
            return creds

    creds = _run(main())
    if creds is None:
        console.print(f"[red]no application {app_id}[/]")
        raise typer.Exit(1)
    console.print(f"applicationSecret: {creds.application_secret}  (shown once: keep it)")


@apps_app.command("webhook-secret")
def apps_webhook_secret(
    app_id: str,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON only")] = False,
) -> None:
    """Print the secret an application's webhooks are signed with (docs/webhooks.md)."""
    settings = load_settings(database_url=database_url)

    async def main() -> str | None:
        from failover_otp.bootstrap import open_services

        async with open_services(settings) as services:
            secret = await services.auth.webhook_secret(app_id)
            if secret is not None:
                await admin_commands.cli_audit(services, "application.webhook_secret_read", app_id)
            return secret

    secret = _run(main())
    if secret is None:
        console.print(f"[red]no application {app_id}[/]")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps({"applicationId": app_id, "webhookSecret": secret}))
    else:
        typer.echo(secret)


def main() -> None:
    Path(".").resolve()
    app()
