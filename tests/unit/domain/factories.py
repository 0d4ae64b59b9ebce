"""Builders for plans, steps and flows, and a small driver that feeds events to ``decide``.

Defaults follow the seed's tracking example: flow ``a1b2c3d4-...``, destination 306912345671,
Viber (ttl 120) first and SMS (ttl 300) as failover, starting at 2026-02-16T12:00:00Z.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from failover_otp.domain.commands import Command, SendStep
from failover_otp.domain.events import Event
from failover_otp.domain.flow import Deadline, Flow, FlowKind, Role, Step, StepPlan
from failover_otp.domain.machine import Decision, decide
from failover_otp.domain.statuses import (
    DEFAULT_FAILOVER_ON,
    Channel,
    FlowStatus,
    RejectReason,
    StatusCode,
    StepStatus,
)

FLOW_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
PHONE = "306912345671"
T0 = datetime(2026, 2, 16, 12, 0, tzinfo=UTC)

# The seed example's message tokens, used as the provider's message ids.
VIBER_ID = "550e8400-e29b-41d4-a716-446655440000"
SMS_ID = "660e8400-e29b-41d4-a716-446655440001"
VOICE_ID = "770e8400-e29b-41d4-a716-446655440002"

# The contract's sandbox prices.
VIBER_PRICE = 0.0093
SMS_PRICE = 0.0375


def moment(seconds: float) -> datetime:
    """``seconds`` after the flow was created."""
    return T0 + timedelta(seconds=seconds)


def viber(
    ttl: float | None = 120,
    *,
    failover_on: frozenset[StepStatus] | None = None,
    failover_on_delivered: bool = False,
    expire_on_delivery: bool = False,
    to: str = PHONE,
) -> StepPlan:
    return StepPlan(
        channel=Channel.VIBER,
        to=to,
        ttl_seconds=ttl,
        failover_on=DEFAULT_FAILOVER_ON[Channel.VIBER] if failover_on is None else failover_on,
        failover_on_delivered=failover_on_delivered,
        expire_on_delivery=expire_on_delivery,
    )


def sms(
    ttl: float | None = 300,
    *,
    failover_on: frozenset[StepStatus] | None = None,
    to: str = PHONE,
) -> StepPlan:
    return StepPlan(
        channel=Channel.SMS,
        to=to,
        ttl_seconds=ttl,
        failover_on=DEFAULT_FAILOVER_ON[Channel.SMS] if failover_on is None else failover_on,
    )


def voice(
    ttl: float | None = 60,
    *,
    failover_on: frozenset[StepStatus] | None = None,
    to: str = PHONE,
) -> StepPlan:
    return StepPlan(
        channel=Channel.VOICE,
        to=to,
        ttl_seconds=ttl,
        failover_on=DEFAULT_FAILOVER_ON[Channel.VOICE] if failover_on is None else failover_on,
    )


def make_flow(
    *plans: StepPlan,
    flow_id: str = FLOW_ID,
    kind: FlowKind = FlowKind.OTP,
) -> Flow:
    """A freshly stored flow (no steps yet); Viber(120) -> SMS(300) unless plans are given."""
    return Flow(
        id=flow_id,
        application_id="app-1",
        kind=kind,
        plans=plans or (viber(), sms()),
        created_at=T0,
        updated_at=T0,
    )


def make_step(
    index: int,
    status: StepStatus,
    *,
    channel: Channel = Channel.VIBER,
    tracking_id: str | None = None,
    failover_from: str | None = None,
    price: float | None = None,
    reject_reason: RejectReason | None = None,
    error_message: str | None = None,
) -> Step:
    if failover_from is None and index > 0:
        failover_from = f"msg-{index - 1}"
    return Step(
        index=index,
        tracking_id=tracking_id or f"msg-{index}",
        role=Role.PRIMARY if index == 0 else Role.FAILOVER,
        channel=channel,
        to=PHONE,
        status=status,
        created_at=T0,
        updated_at=T0,
        price=price,
        reject_reason=reject_reason,
        error_message=error_message,
        failover_from=failover_from,
    )


def flow_with(
    plans: tuple[StepPlan, ...],
    *steps: Step,
    deadline: Deadline | None = None,
    status: FlowStatus = FlowStatus.IN_PROGRESS,
    status_code: StatusCode | None = None,
    cancelled: bool = False,
) -> Flow:
    """A flow in a hand-built state, for checking aggregation without driving events."""
    return replace(
        make_flow(*plans),
        steps=steps,
        deadline=deadline,
        status=status,
        status_code=status_code,
        cancelled=cancelled,
    )


@dataclass
class Script:
    """Feeds events to ``decide`` at given times, keeping the flow and every decision."""

    flow: Flow
    time_scale: float = 1.0
    decisions: list[Decision] = field(default_factory=list)

    def at(self, seconds: float, event: Event) -> Decision:
        decision = decide(self.flow, event, now=moment(seconds), time_scale=self.time_scale)
        self.flow = decision.flow
        self.decisions.append(decision)
        return decision

    def play(self, events: list[tuple[float, Event]]) -> Flow:
        for seconds, event in events:
            self.at(seconds, event)
        return self.flow

    @property
    def commands(self) -> list[Command]:
        return [command for decision in self.decisions for command in decision.commands]

    @property
    def sends(self) -> list[SendStep]:
        return [command for command in self.commands if isinstance(command, SendStep)]
