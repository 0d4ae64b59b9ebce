"""The flow's state: what was asked for (plans), what happened (steps) and what is due next."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from failover_otp.domain.adaptive_ttl import AutoTtl, TtlChoice
from failover_otp.domain.statuses import (
    Channel,
    FlowStatus,
    RejectReason,
    StatusCode,
    StepStatus,
)


class FlowKind(StrEnum):
    """Which API started the flow; tracking searches tell them apart by ``originatingService``."""

    OTP = "otp"
    STANDARD = "failover"


class Role(StrEnum):
    PRIMARY = "primary"
    FAILOVER = "failover"


class DeadlineKind(StrEnum):
    # The current step's ttl ran out: expire it if it has not reached a final status.
    STEP_TTL = "step_ttl"
    # failoverOnDelivered: the Viber step was delivered, but not seen within its ttl.
    DELIVERED_WAIT = "delivered_wait"
    # A send intent whose provider answer never got saved (crash, lost response): retry it.
    SEND_RETRY = "send_retry"


@dataclass(frozen=True, slots=True)
class StepPlan:
    """One requested step, in flow order. Channel content stays outside the core."""

    channel: Channel
    to: str
    ttl_seconds: float | None
    failover_on: frozenset[StepStatus]
    failover_on_delivered: bool = False
    expire_on_delivery: bool = False
    # ``"ttl": "auto"``: the ttl is chosen when the send is accepted (country and operator are
    # known then) from the delivery model; ``ttl_seconds`` holds the upper bound meanwhile.
    auto_ttl: AutoTtl | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One message actually attempted (or being attempted) for a plan."""

    index: int
    tracking_id: str
    role: Role
    channel: Channel
    to: str
    status: StepStatus
    created_at: datetime
    updated_at: datetime
    detailed_status: str | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    expired_on_delivery_at: datetime | None = None
    price: float | None = None
    parts: int = 1
    country: str | None = None
    operator: str | None = None
    error_message: str | None = None
    reject_reason: RejectReason | None = None
    failover_from: str | None = None
    send_attempts: int = 1
    # Voice only, as the provider reported the call: who answered (human, machine) and how long
    # the call lasted in seconds.
    answered_by: str | None = None
    call_seconds: int | None = None
    # The ttl an auto step was given, and why (None for a step with a fixed ttl).
    ttl_choice: TtlChoice | None = None


@dataclass(frozen=True, slots=True)
class Deadline:
    due_at: datetime
    kind: DeadlineKind
    step_index: int


@dataclass(frozen=True, slots=True)
class Flow:
    id: str
    application_id: str
    kind: FlowKind
    plans: tuple[StepPlan, ...]
    created_at: datetime
    updated_at: datetime
    status: FlowStatus = FlowStatus.IN_PROGRESS
    status_code: StatusCode | None = None
    error: str | None = None
    steps: tuple[Step, ...] = ()
    deadline: Deadline | None = None
    version: int = 0
    # Stopped from outside (the code was verified): the flow is over whatever reports say later.
    cancelled: bool = False

    def step_by_tracking_id(self, tracking_id: str) -> Step | None:
        for step in self.steps:
            if step.tracking_id == tracking_id:
                return step
        return None

    def step_for(self, index: int) -> Step | None:
        for step in self.steps:
            if step.index == index:
                return step
        return None

    @property
    def current_step(self) -> Step | None:
        return self.steps[-1] if self.steps else None

    @property
    def total_cost(self) -> float:
        return round(sum(s.price or 0.0 for s in self.steps), 6)

    def with_step(self, step: Step) -> Flow:
        steps = tuple(step if s.index == step.index else s for s in self.steps)
        if all(s.index != step.index for s in self.steps):
            steps = (*self.steps, step)
        return replace(self, steps=steps)


def step_tracking_id(flow_id: str, index: int) -> str:
    """The id a step carries until the provider names the message (and forever if it refused).

    Derived rather than drawn so the core stays free of randomness and a retried decision mints
    the same id.
    """
    return str(uuid.uuid5(uuid.UUID(flow_id), f"step-{index}"))
