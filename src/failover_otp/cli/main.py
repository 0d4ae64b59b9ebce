"""``failover-otp``: serve the API, run workers, migrate, manage applications, use the API.

Imports stay light at module level (typer, and the standard library): ``failover-otp --help``
answers without loading FastAPI, SQLAlchemy, pydantic-settings or httpx. Each command imports
what it needs when it runs.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from failover_otp.cli import (
    admin_commands,
    app_credentials,
    auto_ttl_command,
    client_commands,
    replay,
)
from failover_otp.cli.output import console
from failover_otp.provider_names import ProviderName

if TYPE_CHECKING:
    import asyncio

    from failover_otp.settings import Settings

app = typer.Typer(
    help="One-time passwords over Viber with SMS failover, through Routee.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
apps_app = typer.Typer(help="Manage applications (API clients).", no_args_is_help=True)
app.add_typer(apps_app, name="apps")
client_commands.register(app)
admin_commands.register(app)  # operators, audit, purge

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="sqlite:///path.db or postgresql://...")
]
TimeScale = Annotated[
    float | None, typer.Option("--time-scale", help="run every duration this many times faster")
]


def load_settings(*, creates_database: bool = False, **overrides: Any) -> Settings:
    """CLI options win over FOTP_* variables, which win over defaults.

    Only ``serve`` and ``migrate`` pass ``creates_database``: any other command stops with a
    clear message rather than create an empty SQLite database (cli/database_guard.py).
    """
    from failover_otp.cli.database_guard import MissingDatabase, require_existing_database
    from failover_otp.settings import Settings

    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    if not creates_database:
        try:
            require_existing_database(settings.database_url)
        except MissingDatabase as missing:
            console().print(f"[red]{missing}[/]", soft_wrap=True)
            raise typer.Exit(2) from None
    return settings


def _install_stop_signals(stop: asyncio.Event) -> None:
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def _run(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:  # pragma: no cover - uvloop is absent only on Windows
        import asyncio

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
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="server processes on the port (default: one per core on PostgreSQL; "
            "SQLite runs one)",
        ),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="create and print a demo application; send limits that fit the quickstart",
        ),
    ] = False,
) -> None:
    """Run the HTTP API (and the failover worker, unless --no-worker)."""
    from failover_otp.logging_setup import configure_logging

    settings = load_settings(
        creates_database=True,
        host=host,
        port=port,
        database_url=database_url,
        provider=provider,
        time_scale=time_scale,
        run_worker=False if no_worker else None,
        serve_workers=workers,
    )
    configure_logging(settings.log_level, json=settings.log_json)
    from failover_otp.cli.serve_processes import TooManyProcesses, process_count

    try:
        processes = process_count(settings)
    except TooManyProcesses as refused:
        console().print(f"[red]{refused}[/]", soft_wrap=True)
        raise typer.Exit(2) from None
    if demo:
        from failover_otp.cli.demo_banner import print_demo
        from failover_otp.cli.demo_limits import with_demo_limits

        settings = with_demo_limits(settings)
        _run(print_demo(settings))
    if processes > 1:
        _serve_processes(settings, processes)
        return
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
    )
    console().print(
        f"[bold]failover-otp[/] listening on http://{settings.host}:{settings.port} "
        f"(provider {settings.provider.value}, worker {'on' if settings.run_worker else 'off'})"
    )
    uvicorn.Server(config).run()


def _serve_processes(settings: Settings, processes: int) -> None:
    import os

    import uvicorn

    from failover_otp.bootstrap import open_services
    from failover_otp.cli.serve_processes import per_process, settings_environment

    async def prepare() -> None:
        # Once, before the processes start: the schema, the callback token and keys they share.
        async with open_services(settings):
            pass

    _run(prepare())
    os.environ.update(settings_environment(per_process(settings, processes)))
    console().print(
        f"[bold]failover-otp[/] listening on http://{settings.host}:{settings.port} "
        f"({processes} processes, provider {settings.provider.value}, "
        f"worker {'on' if settings.run_worker else 'off'})"
    )
    uvicorn.run(
        "failover_otp.cli.serve_processes:app_from_environment",
        factory=True,
        workers=processes,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="on",
    )


@app.command()
def worker(
    database_url: DatabaseUrl = None,
    provider: Annotated[ProviderName | None, typer.Option(help="sandbox or routee")] = None,
    time_scale: TimeScale = None,
) -> None:
    """Run a failover worker only (scale out: run many, on many machines)."""
    from failover_otp.logging_setup import configure_logging

    settings = load_settings(database_url=database_url, provider=provider, time_scale=time_scale)
    configure_logging(settings.log_level, json=settings.log_json)

    async def main() -> None:
        import asyncio

        from failover_otp.bootstrap import open_services

        stop = asyncio.Event()
        _install_stop_signals(stop)
        async with open_services(settings) as services:
            await asyncio.gather(*(loop.run(stop) for loop in services.worker_loops()))

    _run(main())


@app.command()
def migrate(database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the database schema."""
    settings = load_settings(creates_database=True, database_url=database_url)
    from failover_otp.bootstrap import migrate_schema

    _run(migrate_schema(settings.database_url))
    console().print("schema is up to date")


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="port to bind on 127.0.0.1")] = 8090,
    time_scale: Annotated[float, typer.Option("--time-scale")] = 1.0,
    app_id: Annotated[str | None, typer.Option("--app-id", help="accept only this id")] = None,
    app_secret: Annotated[str | None, typer.Option("--app-secret")] = None,
    no_callbacks: Annotated[
        bool,
        typer.Option("--no-callbacks", help="post no delivery report; only tracking tells"),
    ] = False,
    balance: Annotated[
        float, typer.Option("--balance", min=0, help="the account's opening balance (EUR)")
    ] = 1000.0,
    profile: Annotated[
        str,
        typer.Option(
            envvar="FOTP_SANDBOX_PROFILE",
            help="realistic: delivery times drawn from distributions (default: the digit table)",
        ),
    ] = "",
    seed: Annotated[int, typer.Option(envvar="FOTP_SANDBOX_SEED", help="the profile's seed")] = 0,
) -> None:
    """Run the Routee sandbox alone, speaking Routee's wire API on loopback."""
    from failover_otp.logging_setup import configure_logging

    configure_logging("info")
    from failover_otp.bootstrap import standalone_sandbox

    try:
        server = standalone_sandbox(
            port,
            time_scale,
            app_id=app_id,
            app_secret=app_secret,
            callbacks=not no_callbacks,
            balance=balance,
            profile=profile,
            seed=seed,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--profile") from None

    console().print(f"Routee sandbox on http://127.0.0.1:{port} (time scale {time_scale})")

    async def main() -> None:
        import asyncio
        import contextlib

        stop = asyncio.Event()
        _install_stop_signals(stop)
        task = asyncio.create_task(server)
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
        console().print(f"applicationId:     {result['applicationId']}")
        console().print(f"applicationSecret: {result['applicationSecret']}  (shown once: keep it)")


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
    console().print(table)


@apps_app.command("rotate-secret")
def apps_rotate_secret(app_id: str, database_url: DatabaseUrl = None) -> None:
    """Give an application a new secret; tokens issued with the old one stop working.

    The demo application's new secret is written to data/demo-credentials.json too."""
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
        console().print(f"[red]no application {app_id}[/]")
        raise typer.Exit(1)
    console().print(f"applicationSecret: {creds.application_secret}  (shown once: keep it)")
    from failover_otp.cli.demo import demo_credentials_path, update_demo_secret

    if update_demo_secret(settings.data_dir, app_id, creds.application_secret):
        console().print(f"(the demo application: {demo_credentials_path(settings.data_dir)} too)")


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
        console().print(f"[red]no application {app_id}[/]")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps({"applicationId": app_id, "webhookSecret": secret}))
    else:
        typer.echo(secret)


# Revoking access and rotating webhook secrets (issue 15: tokens, webhooks).
app_credentials.register(apps_app, load_settings, _run)
# "ttl": "auto" settings per application (docs/adaptive-failover.md).
auto_ttl_command.register(apps_app, load_settings, _run)
replay.register(app, load_settings, _run)  # what-if replay of recorded flows


def main() -> None:
    app()
