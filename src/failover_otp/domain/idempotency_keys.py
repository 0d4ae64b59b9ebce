"""An Idempotency-Key record: who runs the request, and its response once done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

IN_PROGRESS = "in_progress"
DONE = "done"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    application_id: str
    key: str
    endpoint: str
    fingerprint: str
    state: str
    flow_id: str | None
    response_status: int | None
    response_body: str | None
    created_at: datetime
    lease_until: datetime
    expires_at: datetime
