"""The API commands' tables. Ids are never wrapped nor cut, whatever the terminal's width
(the other columns give way, ellipsised): what a table shows can be pasted into ``track``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from failover_otp.cli.output import styled

if TYPE_CHECKING:
    from rich.table import Table

    from failover_otp.client import DeliveryPage, TrackingPage


def id_table(*columns: str, ids: tuple[str, ...] = ()) -> Table:
    """A table whose ``ids`` columns are never wrapped nor cut: the other columns give way."""
    from rich.table import Table

    table = Table()
    for name in columns:
        if name in ids:
            table.add_column(name, no_wrap=True, overflow="ignore", min_width=36)
        else:
            table.add_column(name, no_wrap=True, overflow="ellipsis")
    return table


def deliveries_table(page: DeliveryPage) -> Table:
    table = id_table(
        "flowId",
        "role",
        "channel",
        "status",
        "flow",
        "phone",
        "label",
        "created",
        "price",
        ids=("flowId",),
    )
    for item in page.results:
        table.add_row(
            item.flowId or "",
            item.role,
            item.channel,
            item.status,
            styled(item.flow_status or ""),
            item.phone_number,
            item.label or "",
            _utc(item.created_at),
            f"{item.price:.4f}" if item.price is not None else "",
        )
    return table


def trackings_table(page: TrackingPage) -> Table:
    table = id_table(
        "trackingId",
        "api",
        "status",
        "to",
        "steps",
        "ended on",
        "price",
        "created",
        ids=("trackingId",),
    )
    for item in page.content:
        steps = " → ".join(f"{m.type} {m.status.name}".strip() for m in item.messages)
        first = item.messages[0] if item.messages else None
        table.add_row(
            item.trackingId,
            item.originatingService,
            styled(item.status),
            str(first.to) if first is not None and first.to is not None else "",
            steps,
            item.terminationChannel or "",
            f"{item.totalPrice:.4f}",
            _utc(item.createdAt),
        )
    return table


def _utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment is not None else ""
