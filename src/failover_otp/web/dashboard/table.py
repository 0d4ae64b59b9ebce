"""The flows table's query string: its filters, its keyset position, and the CSV export.

Filters: a flow or step status, a label (partial), digits of the number (partial), a prefix of a
flow id or tracking id (the 8 characters the table shows find the flow), and a range of creation
days (``from``/``to``, UTC, both included). Position: ``older``/``newer`` cursors (the pager) or
``at`` (jump to a date: that day's newest flows first); none of them is an offset, so every page
costs the same (store/listing.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from failover_otp.domain.statuses import FlowStatus, StepStatus
from failover_otp.services.dashboard import Cursor, FlowRow, TableFilter

FLOW_STATUS_CHOICES = [s.value for s in FlowStatus if s is not FlowStatus.QUEUED]
STEP_STATUS_CHOICES = [
    ("DELIVERED", "Delivered"),
    ("SEEN", "Seen"),
    ("SENT", "Sent"),
    ("QUEUED", "Queued"),
    ("EXPIRED", "Expired"),
    ("UNDELIVERED", "Undelivered"),
    ("FAILED", "Failed"),
    ("UNSENT", "Unsent"),
]
_ID_CHARS = frozenset("0123456789abcdef-")
CSV_COLUMNS = (
    "createdAt",
    "flowId",
    "type",
    "status",
    "statusCode",
    "phone",
    "label",
    "steps",
    "timeToDeliverMs",
    "totalCost",
    "currency",
)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass
class Filters:
    """The table's filters and position as the query string carries them (already length-bound
    by the routes); ``errors`` says what was ignored and why."""

    status: str = ""
    tag: str = ""
    phone: str = ""
    flow_id: str = ""
    date_from: str = ""
    date_to: str = ""
    older: str = ""
    newer: str = ""
    at: str = ""
    period: int = 7
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = self.status.strip()
        self.tag = self.tag.strip()[:350]
        self.phone = "".join(c for c in self.phone if c.isdigit())[:20]
        self.flow_id = self.flow_id.strip().lower()[:64]
        if self.flow_id and not set(self.flow_id) <= _ID_CHARS:
            self.errors.append("a flow id is letters a-f, digits and dashes")
            self.flow_id = ""
        for name in ("date_from", "date_to", "at"):
            value = getattr(self, name).strip()
            if value and _day(value) is None:
                self.errors.append(f"{value!r} is not a date (YYYY-MM-DD)")
                value = ""
            setattr(self, name, value)

    def store_filter(self, app_id: str) -> TableFilter:
        step_status, flow_status = None, None
        value = self.status
        if value.startswith("flow:") or value in FLOW_STATUS_CHOICES:
            name = value.removeprefix("flow:")
            if name in FLOW_STATUS_CHOICES:
                flow_status = name
            else:
                self.errors.append(f"unknown flow status {name!r}")
        elif value:
            try:
                step_status = StepStatus.parse(value.removeprefix("step:")).value
            except ValueError:
                self.errors.append(f"unknown status {value!r}")
        start, end = _day(self.date_from), _day(self.date_to)
        return TableFilter(
            application_id=app_id,
            step_status=step_status,
            flow_status=flow_status,
            tag=self.tag or None,
            phone=self.phone or None,
            flow_id=self.flow_id or None,
            created_from=_midnight(start) if start else None,
            created_to=_midnight(end) + timedelta(days=1) if end else None,
        )

    def position(self) -> tuple[Cursor | None, Cursor | None]:
        """(older than, newer than): where the page starts."""
        if self.newer:
            return None, Cursor.decode(self.newer)
        if self.older:
            return Cursor.decode(self.older), None
        jump = _day(self.at)
        if jump is not None:
            return Cursor(_midnight(jump) + timedelta(days=1)), None  # that day's newest first
        return None, None

    @property
    def paged(self) -> bool:
        return bool(self.older or self.newer or self.at)

    def query(self, **changes: Any) -> str:
        """The query string of these filters; the position is dropped unless given again."""
        values: dict[str, Any] = {
            "status": self.status,
            "tag": self.tag,
            "phone": self.phone,
            "flow_id": self.flow_id,
            "from": self.date_from,
            "to": self.date_to,
            "older": self.older,
            "newer": self.newer,
            "at": self.at,
            "period": self.period,
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 0)})

    def filter_query(self, **changes: Any) -> str:
        """The filters alone (page one, the export)."""
        return self.query(older="", newer="", at="", **changes)


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


def _safe_cell(text: str | None) -> str:
    """A cell a spreadsheet will not run as a formula (labels are customer text)."""
    value = text or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def csv_lines(batches: AsyncIterator[list[FlowRow]], currency: str) -> AsyncIterator[str]:
    """The export: a header, then one line per flow as each batch arrives (streamed)."""
    yield _csv_line(list(CSV_COLUMNS))
    async for batch in batches:
        chunk = []
        for row in batch:
            chunk.append(
                _csv_line(
                    [
                        row.created_at or "",
                        row.flow_id,
                        row.kind,
                        row.status,
                        "" if row.status_code is None else row.status_code,
                        "+" + row.phone,
                        _safe_cell(row.label),
                        " > ".join(f"{channel} {status}" for channel, status in row.channels),
                        "" if row.time_to_deliver_ms is None else row.time_to_deliver_ms,
                        f"{row.total_cost:.4f}",
                        currency,
                    ]
                )
            )
        yield "".join(chunk)
