"""``send``, ``track`` and ``list``: the API from a terminal, for a person."""

from __future__ import annotations

import json
import os
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from failover_otp.cli.demo import read_demo_credentials
from failover_otp.client import ApiClientError, FailoverOtpClient

console = Console()

ApiUrl = Annotated[
    str, typer.Option("--url", envvar="FOTP_API_URL", help="base URL of a running service")
]
AppId = Annotated[str | None, typer.Option("--app-id", envvar="FOTP_CLIENT_APP_ID")]
AppSecret = Annotated[str | None, typer.Option("--app-secret", envvar="FOTP_CLIENT_APP_SECRET")]
AsJson = Annotated[bool, typer.Option("--json", help="print the raw JSON answer")]
DEFAULT_URL = "http://127.0.0.1:8080"
_STATUS_STYLE = {"Succeeded": "green", "Failed": "red", "InProgress": "yellow"}


def _client(url: str, app_id: str | None, app_secret: str | None) -> FailoverOtpClient:
    if not (app_id and app_secret):
        demo = read_demo_credentials(os.environ.get("FOTP_DATA_DIR", "./data"))
        if demo is None:
            console.print(
                "[red]give --app-id and --app-secret (or run `make run` for a demo app)[/]"
            )
            raise typer.Exit(2)
        app_id, app_secret = demo.application_id, demo.application_secret
    return FailoverOtpClient(url, app_id, app_secret)


def _call(work: Any) -> Any:
    try:
        return work()
    except ApiClientError as exc:
        console.print(f"[red]{exc}[/]")
        if isinstance(exc.body, dict):
            console.print_json(json.dumps(exc.body))
        raise typer.Exit(1) from None


def show_story(story: dict[str, Any]) -> None:
    style = _STATUS_STYLE.get(story["status"], "white")
    code = story.get("statusCode")
    console.print(
        f"flow [bold]{story['flowId']}[/]  [{style}]{story['status']}[/]"
        + (f"  statusCode {code}" if code is not None else "")
        + f"  total cost {story.get('total_cost', 0):.4f}"
    )
    table = Table(
        "#", "role", "channel", "status", "detail", "created", "delivered", "latency", "price"
    )
    for number, step in enumerate(story.get("steps", []), 1):
        latency = step.get("latency_ms")
        table.add_row(
            str(number),
            step["role"],
            step["channel"],
            step["status"],
            step.get("detailed_status") or step.get("error_message") or "",
            step.get("created_at") or "",
            step.get("delivered_at") or "",
            f"{latency} ms" if latency is not None else "",
            f"{step['price']:.4f}" if step.get("price") is not None else "",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    @app.command()
    def send(
        phone: Annotated[str, typer.Argument(help="destination, E.164")],
        pin: Annotated[str, typer.Option(help="the code to deliver")] = "123456",
        sender: Annotated[str, typer.Option(help="SMS sender id")] = "FailoverOTP",
        viber_ttl: Annotated[int, typer.Option(help="seconds Viber gets before SMS")] = 120,
        sms_ttl: Annotated[int, typer.Option(help="seconds the SMS is valid")] = 300,
        template_id: Annotated[str, typer.Option()] = "0aac888f-2ee2-4112-9659-1755a951966a",
        sender_info: Annotated[
            str, typer.Option(help="Viber senderInfoTrackingId")
        ] = "demo-sender",
        label: Annotated[str | None, typer.Option(help="label / tag")] = None,
        failover_on_delivered: Annotated[bool, typer.Option("--failover-on-delivered")] = False,
        wait: Annotated[bool, typer.Option("--wait", help="follow the flow until it ends")] = False,
        url: ApiUrl = DEFAULT_URL,
        app_id: AppId = None,
        app_secret: AppSecret = None,
        as_json: AsJson = False,
    ) -> None:
        """Send an OTP on Viber with SMS failover."""
        payload = {
            "flow": [
                {
                    "type": "ViberOtp",
                    "to": phone,
                    "order": 1,
                    "ttl": viber_ttl,
                    "senderInfoTrackingId": sender_info,
                    "templateId": template_id,
                    "pin": pin,
                    "label": label,
                    "failoverOnDelivered": failover_on_delivered,
                },
                {
                    "type": "Sms",
                    "to": phone,
                    "order": 2,
                    "ttl": sms_ttl,
                    "from": sender,
                    "message": {"body": f"Your code is {pin}"},
                    "label": label,
                },
            ]
        }
        with _client(url, app_id, app_secret) as client:
            answer = _call(lambda: client.send_failover(payload))
            if as_json and not wait:
                console.print_json(json.dumps(answer))
                return
            console.print(
                f"sent: flow [bold]{answer['flowId']}[/] {answer['status']} via {answer['type']}"
            )
            if wait and answer.get("flowId"):
                with console.status("waiting for the flow to end..."):
                    while True:
                        story = _call(lambda: client.get_failover(answer["flowId"]))
                        if story["status"] != "InProgress":
                            break
                        time.sleep(0.5)
                show_story(story)

    @app.command()
    def track(
        flow_or_tracking_id: str,
        url: ApiUrl = DEFAULT_URL,
        app_id: AppId = None,
        app_secret: AppSecret = None,
        as_json: AsJson = False,
    ) -> None:
        """Show a flow's delivery timeline (by flowId or any step's trackingId)."""
        with _client(url, app_id, app_secret) as client:
            story = _call(lambda: client.get_failover(flow_or_tracking_id))
        if as_json:
            console.print_json(json.dumps(story))
        else:
            show_story(story)

    @app.command("list")
    def list_deliveries(
        status: Annotated[str | None, typer.Option(help="step or flow status")] = None,
        tag: Annotated[str | None, typer.Option(help="partial label")] = None,
        phone_number: Annotated[str | None, typer.Option("--phone", help="partial number")] = None,
        flow_id: Annotated[str | None, typer.Option("--flow-id")] = None,
        limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
        offset: Annotated[int, typer.Option(min=0)] = 0,
        url: ApiUrl = DEFAULT_URL,
        app_id: AppId = None,
        app_secret: AppSecret = None,
        as_json: AsJson = False,
    ) -> None:
        """List deliveries with the API's filters."""
        with _client(url, app_id, app_secret) as client:
            page = _call(
                lambda: client.list_failovers(
                    status=status,
                    tag=tag,
                    phone_number=phone_number,
                    flow_id=flow_id,
                    limit=limit,
                    offset=offset,
                )
            )
        if as_json:
            console.print_json(json.dumps(page))
            return
        table = Table(
            "flowId", "role", "channel", "status", "flow", "phone", "label", "created", "price"
        )
        for item in page["results"]:
            table.add_row(
                item["flowId"],
                item["role"],
                item["channel"],
                item["status"],
                item.get("flow_status", ""),
                item["phone_number"],
                item.get("label") or "",
                item.get("created_at") or "",
                f"{item['price']:.4f}" if item.get("price") is not None else "",
            )
        console.print(table)
        console.print(f"{len(page['results'])} of {page['total']} (offset {page['offset']})")
