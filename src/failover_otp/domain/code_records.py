"""A managed code as it is kept: its keyed hash, the encrypted code for sends still to come, and
its verification state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


def failure_key(application_id: str, phone: str) -> str:
    """The counter of an application's wrong codes for a number (per UTC day): the
    application's own, so another tenant's guesses never lock its users out."""
    return f"vf:{application_id}:{phone}"


@dataclass(frozen=True, slots=True)
class CodeRow:
    flow_id: str
    application_id: str
    phone: str
    code_hmac: str
    code_cipher: str | None
    created_at: datetime
    expires_at: datetime
    attempts: int
    max_attempts: int
    used_at: datetime | None = None
