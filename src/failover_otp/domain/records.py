"""A flow as the service keeps it: the machine's state and what it was created with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from failover_otp.domain.flow import Flow


@dataclass(frozen=True, slots=True)
class FlowMeta:
    """What a flow was created with and never changes: the request as the API echoes it."""

    request: list[dict[str, Any]]
    phone: str
    label: str | None = None
    callback_url: str | None = None
    # Standard flows: OnChange or OnCompletion (None: the OTP API's every-change webhooks).
    callback_strategy: str | None = None

    def step_label(self, index: int) -> str | None:
        label = self.request[index].get("label") if index < len(self.request) else None
        return str(label) if label is not None else self.label


@dataclass(frozen=True, slots=True)
class FlowRecord:
    flow: Flow
    meta: FlowMeta


@dataclass(frozen=True, slots=True)
class ClaimedDeadline:
    """A due deadline a worker holds the lease on (the deadline queue's claim)."""

    flow_id: str
    kind: str
    step_index: int
    due_at: datetime


@dataclass(frozen=True, slots=True)
class WaitingStep:
    flow_id: str
    step_index: int
    tracking_id: str
    channel: str
    status: str  # as stored
    due_at: datetime

    @property
    def cursor(self) -> tuple[datetime, str]:
        return self.due_at, self.flow_id
