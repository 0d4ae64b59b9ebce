"""Refused sends, counted per application, UTC day and reason (the dashboard shows them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def day_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class RefusalCount:
    reason: str
    count: int
    last_at: datetime
