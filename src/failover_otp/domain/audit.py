"""An entry of the audit trail: one admin action (never a secret in it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    application_id: str | None = None
    detail: str | None = None
    id: int | None = None
