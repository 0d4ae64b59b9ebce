"""``send``, ``track``, ``list`` and ``search``: the API from a terminal, for a person.

They talk HTTP to a running service through :mod:`failover_otp.client`, with the demo
application's credentials from ``./data`` unless ``--app-id``/``--app-secret`` are given.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from failover_otp.cli.demo import read_demo_credentials
from failover_otp.client import (
    FINAL_STATUSES,
    ApiClientError,
    AsyncFailoverOtpClient,
    FailoverOtpClient,
    viber_sms_payload,
)

console = Console()

ApiUrl = Annotated[
    str, typer.Option("--url", envvar="FOTP_API_URL", help="base URL of a running service")
]
AppId = Annotated[str | None, typer.Option("--app-id", envvar="FOTP_CLIENT_APP_ID")]
AppSecret = Annotated[str | None, typer.Option("--app-secret", envvar="FOTP_CLIENT_APP_SECRET")]
AsJson = Annotated[bool, typer.Option("--json", help="print the raw JSON answer")]
DEFAULT_URL = "http://127.0.0.1:8080"
_STATUS_STYLE = {"Succeeded": "green", "Failed": "red", "InProgress": "yellow", "Queued": "yellow"}
_EVENT_STYLE = {
    "sent": "blue",
    "delivered": "green",
    "failed": "red",
    "failover": "yellow",
    "refused": "red",
}


def _credentials(app_id: str | None, app_secret: str | None) -> tuple[str, str]:
    if app_id and app_secret:
        return app_id, app_secret
    demo = read_demo_credentials(os.environ.get("FOTP_DATA_DIR", "./data"))
    if demo is None:
        console.print("[red]give --app-id and --app-secret (or run `make run` for a demo app)[/]")
        raise typer.Exit(2)
    return demo.application_id, demo.application_secret


def _client(url: str, app_id: str | None, app_secret: str | None) -> FailoverOtpClient:
    return FailoverOtpClient(url, *_credentials(app_id, app_secret))


def _fail(exc: ApiClientError) -> typer.Exit:
    console.print(f"[red]{exc}[/]")
    if isinstance(exc.body, dict) and exc.status:
        console.print_json(json.dumps(exc.body))
    return typer.Exit(1)


def _call(work: Any) -> Any:
    try:
        return work()
    except ApiClientError as exc:
        raise _fail(exc) from None


def _style(status: str) -> str:
    return f"[{_STATUS_STYLE.get(status, 'white')}]{status}[/]"


def _parse(moment: str | None) -> datetime | None:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")) if moment else None


def _seconds(delta_ms: float) -> str:
    return f"+{delta_ms / 1000:.1f} s"


# -- rendering a flow ------------------------------------------------------------------------


_FAILURES = ("EXPIRED", "UNDELIVERED", "FAILED", "UNSENT", "BUSY", "NOANSWER", "TERMINATED")


def story_timeline(story: dict[str, Any]) -> list[tuple[datetime, str, str]]:
    """(when, what kind, what) for each thing the story tells, in order.

    The API does not date a step's failure: it is shown when the next step was opened (the
    failover), or last. Latencies are the API's ``latency_ms`` (never time-scaled).
    """
    events: list[tuple[datetime, str, str]] = []
    failed: str | None = None  # the last step's failure, not placed yet
    for step in story.get("steps", []):
        name = "SMS" if step["channel"] == "sms" else step["channel"].capitalize()
        created, sent, delivered = (
            _parse(step.get(k)) for k in ("created_at", "sent_at", "delivered_at")
        )
        if failed is not None and created is not None:
            events.append((created, "failed", failed))
            events.append((created, "failover", f"failover to {name}"))
            failed = None
        if sent is not None:
            price = f", price {step['price']:.4f}" if step.get("price") is not None else ""
            events.append((sent, "sent", f"{name} sent{price}"))
        elif created is not None and step.get("error_message"):
            events.append((created, "refused", f"{name} refused: {step['error_message']}"))
        if delivered is not None:
            latency = step.get("latency_ms")
            extra = f" (latency {latency} ms)" if latency is not None else ""
            events.append((delivered, "delivered", f"{name} delivered{extra}"))
        elif sent is not None and step["status"].upper() in _FAILURES:
            detail = step.get("detailed_status") or step.get("error_message")
            failed = f"{name} ended {step['status']}" + (f" ({detail})" if detail else "")
    if failed is not None and events:
        events.append((max(e[0] for e in events), "failed", failed))
    return sorted(events, key=lambda e: e[0])


def story_renderable(story: dict[str, Any]) -> Group:
    code = story.get("statusCode")
    head = (
        f"flow [bold]{story['flowId']}[/]  {_style(story['status'])}"
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
    timeline = Table("when (UTC)", "", "what", box=None, show_header=False, pad_edge=False)
    events = story_timeline(story)
    start = events[0][0] if events else None
    for moment, kind, text in events:
        offset = (moment - start).total_seconds() * 1000 if start else 0.0
        style = _EVENT_STYLE.get(kind, "white")
        timeline.add_row(
            moment.strftime("%H:%M:%S.%f")[:-3],
            f"[dim]{_seconds(offset)}[/]",
            f"[{style}]{text}[/]",
        )
    if story["status"] in FINAL_STATUSES:
        timeline.add_row("", "", f"flow ended {_style(story['status'])}")
    return Group(head, table, "[bold]timeline[/]", timeline)


def show_story(story: dict[str, Any]) -> None:
    console.print(story_renderable(story))


# -- bulk sending ----------------------------------------------------------------------------


def _destination(phone: str, index: int, cycle_digits: bool) -> str:
    return phone[:-1] + str(index % 10) if cycle_digits and phone[-1:].isdigit() else phone


async def _send_many(
    url: str,
    credentials: tuple[str, str],
    payloads: list[dict[str, Any]],
    *,
    concurrency: int,
    wait: bool,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Send every payload (``concurrency`` at a time) with a progress bar; then, with ``wait``,
    follow the flows until they have all ended. (answers or stories, errors)"""
    results: list[dict[str, Any]] = []
    errors: list[str] = []
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    gate = asyncio.Semaphore(concurrency)
    async with AsyncFailoverOtpClient(url, *credentials) as api:
        with Progress(*columns, console=console) as progress:
            sending = progress.add_task("sending", total=len(payloads))

            async def one(payload: dict[str, Any]) -> None:
                async with gate:
                    try:
                        results.append(await api.send_failover(payload))
                    except ApiClientError as exc:
                        errors.append(str(exc))
                    progress.advance(sending)

            await asyncio.gather(*(one(p) for p in payloads))
            flow_ids = [r["flowId"] for r in results if r.get("flowId")]
            if not wait or not flow_ids:
                return results, errors
            ending = progress.add_task("waiting for the flows to end", total=len(flow_ids))
            stories: dict[str, dict[str, Any]] = {}
            while len(stories) < len(flow_ids):
                pending = [f for f in flow_ids if f not in stories]
                for flow_id in pending:
                    async with gate:
                        story = await api.get_failover(flow_id)
                    if story["status"] in FINAL_STATUSES:
                        stories[flow_id] = story
                        progress.advance(ending)
                if len(stories) < len(flow_ids):
                    await asyncio.sleep(0.5)
    return [stories[f] for f in flow_ids], errors


def _bulk_summary(items: list[dict[str, Any]], errors: list[str], waited: bool) -> None:
    table = Table("outcome", "flows", title="sent" if not waited else "ended")
    for status, count in sorted(Counter(i["status"] for i in items).items()):
        table.add_row(_style(status), str(count))
    for message, count in sorted(Counter(errors).items()):
        table.add_row(f"[red]{message}[/]", str(count))
    console.print(table)
    if waited and items:
        cost = sum(i.get("total_cost") or 0 for i in items)
        failovers = sum(1 for i in items if len(i.get("steps", [])) > 1)
        console.print(f"total cost {cost:.4f}, {failovers} of {len(items)} flows failed over")


# -- commands --------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    @app.command()
    def send(
        phone: Annotated[str, typer.Argument(help="destination, E.164")],
        pin: Annotated[
            str | None, typer.Option(help="the code to deliver (default: the service makes one)")
        ] = "123456",
        generate_code: Annotated[
            bool,
            typer.Option(
                "--generate-code", help="let the service generate the code (check: /otp/verify)"
            ),
        ] = False,
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
        count: Annotated[
            int, typer.Option("--count", min=1, max=100_000, help="send this many flows (demo)")
        ] = 1,
        cycle_digits: Annotated[
            bool,
            typer.Option(
                "--cycle-digits",
                help="with --count: flow i goes to PHONE with last digit i mod 10 "
                "(every sandbox outcome)",
            ),
        ] = False,
        concurrency: Annotated[
            int, typer.Option(min=1, max=64, help="with --count: sends in flight")
        ] = 8,
        idempotency_key: Annotated[
            str | None, typer.Option("--idempotency-key", help="default: a fresh UUID")
        ] = None,
        url: ApiUrl = DEFAULT_URL,
        app_id: AppId = None,
        app_secret: AppSecret = None,
        as_json: AsJson = False,
    ) -> None:
        """Send an OTP on Viber with SMS failover (or --count N of them, with a progress bar)."""
        code = None if generate_code else pin

        def payload(to: str) -> dict[str, Any]:
            return viber_sms_payload(
                to,
                pin=code,
                sender=sender,
                viber_ttl=viber_ttl,
                sms_ttl=sms_ttl,
                template_id=template_id,
                sender_info=sender_info,
                label=label,
                failover_on_delivered=failover_on_delivered,
            )

        if count > 1:
            payloads = [payload(_destination(phone, i, cycle_digits)) for i in range(count)]
            items, errors = asyncio.run(
                _send_many(
                    url,
                    _credentials(app_id, app_secret),
                    payloads,
                    concurrency=concurrency,
                    wait=wait,
                )
            )
            if as_json:
                typer.echo(json.dumps({"results": items, "errors": errors}))
            else:
                _bulk_summary(items, errors, wait)
            if errors:
                raise typer.Exit(1)
            return
        with _client(url, app_id, app_secret) as client:
            answer = _call(
                lambda: client.send_failover(payload(phone), idempotency_key=idempotency_key)
            )
            if as_json and not wait:
                typer.echo(json.dumps(answer))
                return
            if not as_json:
                console.print(
                    f"sent: flow [bold]{answer['flowId']}[/] {_style(answer['status'])} "
                    f"via {answer['type']}"
                )
            if not wait or not answer.get("flowId"):
                return
            with console.status("waiting for the flow to end..."):
                story = _call(lambda: client.wait_for_flow(answer["flowId"]))
            if as_json:
                typer.echo(json.dumps(story))
            else:
                show_story(story)

    @app.command()
    def track(
        flow_or_tracking_id: str,
        follow: Annotated[
            bool, typer.Option("--follow", "-f", help="redraw until the flow ends")
        ] = False,
        url: ApiUrl = DEFAULT_URL,
        app_id: AppId = None,
        app_secret: AppSecret = None,
        as_json: AsJson = False,
    ) -> None:
        """Show a flow's delivery timeline (by flowId or any step's trackingId)."""
        with _client(url, app_id, app_secret) as client:
            story = _call(lambda: client.get_failover(flow_or_tracking_id))
            if follow and not as_json and story["status"] not in FINAL_STATUSES:
                with Live(story_renderable(story), console=console, refresh_per_second=4) as live:
                    while story["status"] not in FINAL_STATUSES:
                        time.sleep(0.5)
                        story = _call(lambda: client.get_failover(flow_or_tracking_id))
                        live.update(story_renderable(story))
                return
        if as_json:
            typer.echo(json.dumps(story))
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
        """List deliveries (GET /otp/failover) with the API's filters."""
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
            typer.echo(json.dumps(page))
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
                _style(item.get("flow_status", "")),
                item["phone_number"],
                item.get("label") or "",
                item.get("created_at") or "",
                f"{item['price']:.4f}" if item.get("price") is not None else "",
            )
        console.print(table)
        console.print(f"{len(page['results'])} of {page['total']} (offset {page['offset']})")

    @app.command()
    def search(
        channel: Annotated[
            str | None, typer.Option("--type", help="a step of this channel: Sms, Viber, Voice")
        ] = None,
        phone: Annotated[str | None, typer.Option("--phone", help="destination number")] = None,
        phone_match: Annotated[
            str, typer.Option(help="is, is_not, contains, starts_with, ends_with")
        ] = "contains",
        status: Annotated[
            str | None, typer.Option(help="flow status: Queued, InProgress, Succeeded, Failed")
        ] = None,
        termination_channel: Annotated[
            str | None, typer.Option("--termination-channel", help="Sms, Viber, Voice")
        ] = None,
        raw_filters: Annotated[
            list[str] | None,
            typer.Option("--filter", help="fieldName:searchOperator:searchTerm (repeatable)"),
        ] = None,
        date_start: Annotated[
            str | None, typer.Option("--date-start", help="ISO-8601, inclusive")
        ] = None,
        date_end: Annotated[str | None, typer.Option("--date-end", help="ISO-8601, exclusive")] = (
            None
        ),
        page: Annotated[int, typer.Option(min=0)] = 0,
        size: Annotated[int, typer.Option(min=1, max=200)] = 20,
        url: ApiUrl = DEFAULT_URL,
        app_id: AppId = None,
        app_secret: AppSecret = None,
        as_json: AsJson = False,
    ) -> None:
        """Search flows of both APIs (POST /failover/tracking) in a time range, with filters."""
        filters: list[dict[str, str]] = []
        if channel:
            filters.append({"fieldName": "type", "searchOperator": "is", "searchTerm": channel})
        if phone:
            filters.append({"fieldName": "to", "searchOperator": phone_match, "searchTerm": phone})
        if status:
            filters.append({"fieldName": "status", "searchOperator": "is", "searchTerm": status})
        if termination_channel:
            filters.append(
                {
                    "fieldName": "terminationChannel",
                    "searchOperator": "is",
                    "searchTerm": termination_channel,
                }
            )
        for raw in raw_filters or []:
            field, operator, term = [*raw.split(":", 2), "", ""][:3]
            if not field or not term:
                console.print(f"[red]--filter {raw!r}: use fieldName:searchOperator:searchTerm[/]")
                raise typer.Exit(2)
            filters.append(
                {"fieldName": field, "searchOperator": operator or "is", "searchTerm": term}
            )
        with _client(url, app_id, app_secret) as client:
            result = _call(
                lambda: client.search_trackings(
                    filters, date_start=date_start, date_end=date_end, page=page, size=size
                )
            )
        if as_json:
            typer.echo(json.dumps(result))
            return
        table = Table("trackingId", "api", "status", "to", "steps", "ended on", "price", "created")
        for item in result["content"]:
            messages = item.get("messages", [])
            steps = " → ".join(
                f"{m['type']} {(m.get('status') or {}).get('name', '')}".strip() for m in messages
            )
            table.add_row(
                item["trackingId"],
                item.get("originatingService", ""),
                _style(item["status"]),
                messages[0].get("to", "") if messages else "",
                steps,
                item.get("terminationChannel") or "",
                f"{item.get('totalPrice') or 0:.4f}",
                item.get("createdAt") or "",
            )
        console.print(table)
        console.print(
            f"page {result['number']} of {max(1, result['totalPages'])}: "
            f"{result['numberOfElements']} of {result['totalElements']} flow(s)"
        )
