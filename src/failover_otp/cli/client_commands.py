"""``send``, ``track``, ``list``, ``search``, ``inbox`` and ``verify``: the API from a terminal.

They talk HTTP to a running service through :mod:`failover_otp.client`; which service and as
whom is cli/api_access.py's business (by default the demo application ``serve --demo`` saved,
at the URL it saved). Ids are never cut, whatever the terminal's width: what the tables show
can be pasted into ``track``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from failover_otp.cli.api_access import ApiUrl, AppId, AppSecret, Target, fail, target
from failover_otp.cli.output import console, styled
from failover_otp.cli.tables import deliveries_table, trackings_table

if TYPE_CHECKING:
    from failover_otp.client import FailoverOtpClient, Inbox

AsJson = Annotated[bool, typer.Option("--json", help="print the raw JSON answer")]
T = TypeVar("T")


def call(where: Target, work: Callable[[], T]) -> T:
    """Run one API call; an error is printed once, and the command exits 1."""
    from failover_otp.client import ApiClientError

    try:
        return work()
    except ApiClientError as exc:
        fail(exc, where)


def _destination(phone: str, index: int, cycle_digits: bool) -> str:
    return phone[:-1] + str(index % 10) if cycle_digits and phone[-1:].isdigit() else phone


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data))


def register(app: typer.Typer) -> None:
    @app.command()
    def send(
        phone: Annotated[str, typer.Argument(help="destination, E.164")],
        pin: Annotated[
            str | None,
            typer.Option(
                help="the code to deliver, 4-10 letters or digits (default: none, the "
                "service generates one: see `inbox` and `verify`)",
                show_default=False,
            ),
        ] = None,
        generate_code: Annotated[
            bool,
            typer.Option(
                "--generate-code",
                help="let the service generate the code (the default without --pin)",
                hidden=True,
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
        url: ApiUrl = None,
        app_id: AppId = None,
        app_secret: AppSecret = None,
        as_json: AsJson = False,
    ) -> None:
        """Send an OTP on Viber with SMS failover (or --count N of them, with a progress bar)."""
        from failover_otp.client import viber_sms_payload

        where = target(url, app_id, app_secret)
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
            _send_bulk(
                where,
                [payload(_destination(phone, i, cycle_digits)) for i in range(count)],
                concurrency=concurrency,
                wait=wait,
                as_json=as_json,
            )
            return
        with where.client() as client:
            answer = call(
                where, lambda: client.send_failover(payload(phone), idempotency_key=idempotency_key)
            )
            if as_json and not wait:
                _print_json(answer.raw)
                return
            if not as_json:
                sent = f"sent: flow [bold]{answer.flowId}[/] {styled(answer.status)}"
                console().print(f"{sent} via {answer.type}", soft_wrap=True)
            flow_id = answer.flowId
            if not wait or not flow_id:
                return
            with console().status("waiting for the flow to end..."):
                story = call(where, lambda: client.wait_for_flow(flow_id))
        if as_json:
            _print_json(story.raw)
        else:
            from failover_otp.cli.story_view import story_renderable

            console().print(story_renderable(story))

    @app.command()
    def track(
        flow_or_tracking_id: str,
        follow: Annotated[
            bool, typer.Option("--follow", "-f", help="redraw until the flow ends")
        ] = False,
        url: ApiUrl = None,
        app_id: AppId = None,
        app_secret: AppSecret = None,
        as_json: AsJson = False,
    ) -> None:
        """Show a flow's delivery timeline (by flowId or any step's trackingId)."""
        from failover_otp.cli.story_view import story_renderable

        where = target(url, app_id, app_secret)
        with where.client() as client:
            story = call(where, lambda: client.get_failover(flow_or_tracking_id))
            if follow and not as_json and not story.settled:
                from rich.live import Live

                with Live(story_renderable(story), console=console(), refresh_per_second=4) as live:
                    while not story.settled:
                        time.sleep(0.5)
                        story = call(where, lambda: client.get_failover(flow_or_tracking_id))
                        live.update(story_renderable(story))
                return
        if as_json:
            _print_json(story.raw)
        else:
            console().print(story_renderable(story))

    @app.command("list")
    def list_deliveries(
        status: Annotated[str | None, typer.Option(help="step or flow status")] = None,
        tag: Annotated[str | None, typer.Option(help="partial label")] = None,
        phone_number: Annotated[str | None, typer.Option("--phone", help="partial number")] = None,
        flow_id: Annotated[str | None, typer.Option("--flow-id")] = None,
        limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
        offset: Annotated[int, typer.Option(min=0)] = 0,
        url: ApiUrl = None,
        app_id: AppId = None,
        app_secret: AppSecret = None,
        as_json: AsJson = False,
    ) -> None:
        """List deliveries (GET /otp/failover) with the API's filters."""
        where = target(url, app_id, app_secret)
        with where.client() as client:
            page = call(
                where,
                lambda: client.list_failovers(
                    status=status,
                    tag=tag,
                    phone_number=phone_number,
                    flow_id=flow_id,
                    limit=limit,
                    offset=offset,
                ),
            )
        if as_json:
            _print_json(page.raw)
            return
        console().print(deliveries_table(page))
        console().print(f"{len(page.results)} of {page.total} (offset {page.offset})")

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
        url: ApiUrl = None,
        app_id: AppId = None,
        app_secret: AppSecret = None,
        as_json: AsJson = False,
    ) -> None:
        """Search flows of both APIs (POST /failover/tracking) in a time range, with filters."""
        filters = _search_filters(channel, phone, phone_match, status, termination_channel)
        for raw in raw_filters or []:
            field, operator, term = [*raw.split(":", 2), "", ""][:3]
            if not field or not term:
                console().print(
                    f"[red]--filter {raw!r}: use fieldName:searchOperator:searchTerm[/]"
                )
                raise typer.Exit(2)
            filters.append(
                {"fieldName": field, "searchOperator": operator or "is", "searchTerm": term}
            )
        where = target(url, app_id, app_secret)
        with where.client() as client:
            result = call(
                where,
                lambda: client.search_trackings(
                    filters, date_start=date_start, date_end=date_end, page=page, size=size
                ),
            )
        if as_json:
            _print_json(result.raw)
            return
        console().print(trackings_table(result))
        console().print(
            f"page {result.number} of {max(1, result.totalPages)}: "
            f"{result.numberOfElements} of {result.totalElements} flow(s)"
        )

    @app.command()
    def inbox(
        flow_id: Annotated[str, typer.Argument(help="the flowId `send` printed")],
        code_only: Annotated[
            bool, typer.Option("--code", help="print only the code the phone received")
        ] = False,
        timeout: Annotated[
            float, typer.Option(help="seconds to wait for a delivered message")
        ] = 60.0,
        url: ApiUrl = None,
        app_id: AppId = None,
        app_secret: AppSecret = None,
        as_json: AsJson = False,
    ) -> None:
        """Sandbox only: the messages the flow's phone received, and the code among them.

        Waits until a message carrying a code is delivered (or the flow ends)."""
        where = target(url, app_id, app_secret)
        deadline = time.monotonic() + timeout
        with where.client() as client:
            received = _first_inbox(where, client, flow_id)
            while received.code is None and time.monotonic() < deadline:
                if call(where, lambda: client.get_failover(flow_id)).ended:
                    received = call(where, lambda: client.sandbox_inbox(flow_id))
                    break
                time.sleep(0.25)
                received = call(where, lambda: client.sandbox_inbox(flow_id))
        if as_json:
            _print_json(received.raw)
        elif code_only:
            if received.code is None:
                console().print(f"[red]flow {flow_id}: no code delivered to the phone[/]")
                raise typer.Exit(1)
            typer.echo(received.code)
        else:
            for message in received.messages:
                mark = "delivered" if message.delivered else message.status
                console().print(f"{message.channel} to {message.to} ({mark}): {message.text}")
            console().print(f"code: [bold]{received.code or '(none delivered yet)'}[/]")

    @app.command()
    def verify(
        flow_id: Annotated[str, typer.Argument(help="the flowId `send` printed")],
        code: Annotated[str, typer.Argument(help="the code the user typed")],
        url: ApiUrl = None,
        app_id: AppId = None,
        app_secret: AppSecret = None,
        as_json: AsJson = False,
    ) -> None:
        """Check a code with POST /otp/verify (each try counts against the flow's attempts)."""
        where = target(url, app_id, app_secret)
        with where.client() as client:
            result = call(where, lambda: client.verify_code(flow_id, code))
        if as_json:
            _print_json(result.raw)
            return
        console().print(f"{'[green]' if result.valid else '[red]'}{result.status}[/]")
        if not result.valid:
            raise typer.Exit(1)


def _first_inbox(where: Target, client: FailoverOtpClient, flow_id: str) -> Inbox:
    """The flow's inbox; a 404 for a flow that exists means the service has no sandbox."""
    from failover_otp.client import NotFound

    try:
        return client.sandbox_inbox(flow_id)
    except NotFound as missing:
        call(where, lambda: client.get_failover(flow_id))  # the flow's own 404, if it is that
        console().print(
            f"[red]{where.url} has no sandbox inbox: it sends through the real provider "
            "(codes are only ever on the phone)[/]",
            soft_wrap=True,
        )
        raise typer.Exit(1) from missing


def _search_filters(
    channel: str | None,
    phone: str | None,
    phone_match: str,
    status: str | None,
    termination_channel: str | None,
) -> list[dict[str, str]]:
    wanted = [
        ("type", "is", channel),
        ("to", phone_match, phone),
        ("status", "is", status),
        ("terminationChannel", "is", termination_channel),
    ]
    return [
        {"fieldName": field, "searchOperator": operator, "searchTerm": term}
        for field, operator, term in wanted
        if term
    ]


def _send_bulk(
    where: Target,
    payloads: list[dict[str, Any]],
    *,
    concurrency: int,
    wait: bool,
    as_json: bool,
) -> None:
    import asyncio

    from failover_otp.cli.bulk_send import print_summary, send_many

    outcome = asyncio.run(
        send_many(where.url, where.credentials, payloads, concurrency=concurrency, wait=wait)
    )
    if as_json:
        results = outcome.stories if outcome.stories is not None else outcome.answers
        _print_json(
            {"results": [r.raw for r in results], "errors": [str(e) for e in outcome.errors]}
        )
    else:
        print_summary(outcome)
    if outcome.errors:
        raise typer.Exit(1)
