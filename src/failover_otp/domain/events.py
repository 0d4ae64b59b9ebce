"""What can happen to a flow: the inputs of :func:`failover_otp.domain.machine.decide`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from failover_otp.domain.flow import DeadlineKind
from failover_otp.domain.statuses import RejectReason, StepStatus


@dataclass(frozen=True, slots=True)
class Start:
    """A new flow was stored: send its first step."""


@dataclass(frozen=True, slots=True)
class SendAccepted:
    index: int
    message_id: str
    status: StepStatus = StepStatus.QUEUED
    price: float | None = None
    parts: int = 1
    country: str | None = None
    operator: str | None = None


@dataclass(frozen=True, slots=True)
class SendRejected:
    index: int
    reason: RejectReason
    message: str


@dataclass(frozen=True, slots=True)
class StatusReported:
    """A delivery report, from a provider callback or a tracking look-up."""

    tracking_id: str
    status: StepStatus
    detailed_status: str | None = None
    price: float | None = None
    at: datetime | None = None
    # Voice: who answered the call and how long it lasted (seconds), once the provider says.
    answered_by: str | None = None
    call_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class DeadlineReached:
    kind: DeadlineKind
    step_index: int


@dataclass(frozen=True, slots=True)
class Cancel:
    """Stop the flow from sending anything more (e.g. its code was verified)."""

    reason: str


Event = Start | SendAccepted | SendRejected | StatusReported | DeadlineReached | Cancel
