"""What `serve --demo` prints before it listens: the demo application and how to use it."""

from __future__ import annotations

from failover_otp.cli.output import console
from failover_otp.settings import Settings


async def print_demo(settings: Settings) -> None:
    """The demo application's credentials and how to get a token, printed at `serve --demo`."""
    from failover_otp.bootstrap import open_services
    from failover_otp.cli.demo import demo_credentials_path, ensure_demo_application, service_url
    from failover_otp.cli.demo_limits import describe_limits

    base = service_url(settings.host, settings.port)
    async with open_services(settings) as services:
        creds, note = await ensure_demo_application(services.auth, settings.data_dir, base)
    out = console()
    out.print("[bold green]Demo application[/]")
    out.print(f"  applicationId:     {creds.application_id}")
    out.print(f"  applicationSecret: {creds.application_secret}")
    out.print(f"  service URL:       {base}")
    out.print(
        f"  saved in {demo_credentials_path(settings.data_dir)}: the CLI's send, track, list, "
        "search and inbox use them from this folder",
        soft_wrap=True,
    )
    if note:
        out.print(f"  [yellow]{note}[/]", soft_wrap=True)
    out.print(
        f"Demo mode: {describe_limits(settings)} (FOTP_* settings override them)", soft_wrap=True
    )
    out.print("Get a token:")
    out.print(
        f"  curl -s -u {creds.application_id}:{creds.application_secret} "
        f"-d grant_type=client_credentials {base}/oauth/token",
        soft_wrap=True,
    )
