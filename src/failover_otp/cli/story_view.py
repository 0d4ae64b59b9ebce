"""A flow's story in the terminal: its steps as a table, then its timeline."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from failover_otp.cli.output import styled

if TYPE_CHECKING:
    from rich.console import Group

    from failover_otp.client import FlowStory

_EVENT_STYLE = {
    "sent": "blue",
    "delivered": "green",
    "failed": "red",
    "failover": "yellow",
    "refused": "red",
}
_FAILURES = ("EXPIRED", "UNDELIVERED", "FAILED", "UNSENT", "BUSY", "NOANSWER", "TERMINATED")


def _iso(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else ""


def story_timeline(story: FlowStory) -> list[tuple[datetime, str, str]]:
    """(when, what kind, what) for each thing the story tells, in order.

    The API does not date a step's failure: it is shown when the next step was opened (the
    failover), or last. Latencies are the API's ``latency_ms`` (never time-scaled).
    """
    events: list[tuple[datetime, str, str]] = []
    failed: str | None = None  # the last step's failure, not placed yet
    for step in story.steps:
        name = "SMS" if step.channel == "sms" else step.channel.capitalize()
        created, sent, delivered = step.created_at, step.sent_at, step.delivered_at
        if failed is not None and created is not None:
            events.append((created, "failed", failed))
            events.append((created, "failover", f"failover to {name}"))
            failed = None
        if sent is not None:
            price = f", price {step.price:.4f}" if step.price is not None else ""
            events.append((sent, "sent", f"{name} sent{price}"))
        elif created is not None and step.error_message:
            events.append((created, "refused", f"{name} refused: {step.error_message}"))
        if delivered is not None:
            latency = step.latency_ms
            extra = f" (latency {latency} ms)" if latency is not None else ""
            events.append((delivered, "delivered", f"{name} delivered{extra}"))
        elif sent is not None and step.status.upper() in _FAILURES:
            detail = step.detailed_status or step.error_message
            failed = f"{name} ended {step.status}" + (f" ({detail})" if detail else "")
    if failed is not None and events:
        events.append((max(e[0] for e in events), "failed", failed))
    return sorted(events, key=lambda e: e[0])


def story_renderable(story: FlowStory) -> Group:
    from rich.console import Group
    from rich.table import Table

    code = story.statusCode
    head = (
        f"flow [bold]{story.flowId}[/]  {styled(story.status)}"
        + (f"  statusCode {code}" if code is not None else "")
        + f"  total cost {story.total_cost:.4f}"
    )
    table = Table(
        "#", "role", "channel", "status", "detail", "created", "delivered", "latency", "price"
    )
    for number, step in enumerate(story.steps, 1):
        table.add_row(
            str(number),
            step.role,
            step.channel,
            step.status,
            step.detailed_status or step.error_message or "",
            _iso(step.created_at),
            _iso(step.delivered_at),
            f"{step.latency_ms} ms" if step.latency_ms is not None else "",
            f"{step.price:.4f}" if step.price is not None else "",
        )
    timeline = Table("when (UTC)", "", "what", box=None, show_header=False, pad_edge=False)
    events = story_timeline(story)
    start = events[0][0] if events else None
    for moment, kind, text in events:
        offset = (moment - start).total_seconds() if start else 0.0
        style = _EVENT_STYLE.get(kind, "white")
        timeline.add_row(
            moment.strftime("%H:%M:%S.%f")[:-3], f"[dim]+{offset:.1f} s[/]", f"[{style}]{text}[/]"
        )
    if story.ended:
        timeline.add_row("", "", f"flow ended {styled(story.status)}")
    return Group(head, table, "[bold]timeline[/]", timeline)
