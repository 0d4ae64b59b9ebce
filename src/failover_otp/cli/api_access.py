"""Which service the API commands talk to, as whom, and how their errors are told.

The URL is ``--url``, else ``FOTP_API_URL``, else the one ``serve --demo`` saved with the demo
credentials (``data/demo-credentials.json``), else http://127.0.0.1:8080. The credentials are
``--app-id``/``--app-secret`` (or ``FOTP_CLIENT_APP_ID``/``FOTP_CLIENT_APP_SECRET``), else the
demo application's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from failover_otp.cli.demo import (
    DEFAULT_URL,
    DemoCredentials,
    demo_credentials_path,
    read_demo_credentials,
)
from failover_otp.cli.output import console

if TYPE_CHECKING:
    from failover_otp.client import ApiClientError, FailoverOtpClient

ApiUrl = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="FOTP_API_URL",
        help="base URL of a running service (default: the one `serve --demo` saved in "
        f"data/demo-credentials.json, else {DEFAULT_URL})",
        show_default=False,
    ),
]
AppId = Annotated[str | None, typer.Option("--app-id", envvar="FOTP_CLIENT_APP_ID")]
AppSecret = Annotated[str | None, typer.Option("--app-secret", envvar="FOTP_CLIENT_APP_SECRET")]


def data_dir() -> str:
    return os.environ.get("FOTP_DATA_DIR", "./data")


@dataclass(frozen=True, slots=True)
class Target:
    """A service and the credentials to use it with, and where each came from (for errors)."""

    url: str
    url_source: str
    app_id: str
    app_secret: str
    demo_file: str | None  # the credentials came from this file

    @property
    def credentials(self) -> tuple[str, str]:
        return self.app_id, self.app_secret

    def client(self) -> FailoverOtpClient:
        from failover_otp.client import FailoverOtpClient

        return FailoverOtpClient(self.url, self.app_id, self.app_secret)


def _url(given: str | None, demo: DemoCredentials | None) -> tuple[str, str]:
    if given:
        source = "FOTP_API_URL" if os.environ.get("FOTP_API_URL") == given else "--url"
        return given, source
    if demo is not None and demo.url:
        return demo.url, f"saved in {demo_credentials_path(data_dir())}"
    return DEFAULT_URL, "the default; give --url or FOTP_API_URL"


def target(url: str | None, app_id: str | None, app_secret: str | None) -> Target:
    demo = read_demo_credentials(data_dir())
    base, source = _url(url, demo)
    if app_id and app_secret:
        return Target(base, source, app_id, app_secret, None)
    if demo is None:
        console().print(
            "[red]give --app-id and --app-secret, or run this where `make run` "
            f"(`failover-otp serve --demo`) saved {demo_credentials_path(data_dir())}[/]",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    path = str(demo_credentials_path(data_dir()))
    return Target(base, source, demo.application_id, demo.application_secret, path)


def _detail_line(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = item.get("loc")
    if isinstance(where, list) and "msg" in item:
        return f"{'.'.join(str(part) for part in where)}: {item['msg']}"
    return ", ".join(f"{key} {value}" for key, value in item.items())


def explain(exc: ApiClientError, where: Target) -> list[str]:
    """The lines that tell what went wrong: the message once, then what it does not say."""
    from failover_otp.client import ApiConnectionError

    lines = [str(exc)]
    if isinstance(exc, ApiConnectionError):
        lines.append(
            f"no service answered at {where.url} ({where.url_source}). Is it running? "
            "`make run` prints the URL it listens on."
        )
        return lines
    detail = exc.body.get("detail") if isinstance(exc.body, dict) else None
    if isinstance(detail, list):
        lines.extend(f"  {_detail_line(item)}" for item in detail)
    if exc.status == 401 and where.demo_file is not None:
        lines.append(
            f"{where.url} refused the demo credentials of {where.demo_file}: was the secret "
            "rotated, or is that another service's database? `make run` prints the current ones."
        )
    return lines


def fail(exc: ApiClientError, where: Target) -> NoReturn:
    for line in explain(exc, where):
        console().print(line, style="red", markup=False, soft_wrap=True)
    raise typer.Exit(1)
