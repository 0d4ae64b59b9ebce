"""The flow-level status and statusCode, derived from the steps exactly as the seed's tables say."""

from __future__ import annotations

from failover_otp.domain.flow import DeadlineKind, Flow, Step, StepPlan
from failover_otp.domain.statuses import (
    FlowStatus,
    Outcome,
    RejectReason,
    StatusCode,
    StepStatus,
)


def triggers_failover(plan: StepPlan, step: Step) -> bool:
    """Whether a failed step hands over to the next channel.

    A send the provider refused outright always moves on; a delivery failure only when its
    status is one of the step's ``failoverOnStatuses``.
    """
    if step.status.outcome is not Outcome.FAILURE:
        return False
    return step.reject_reason is not None or step.status in plan.failover_on


def has_next(flow: Flow, step: Step) -> bool:
    return step.index + 1 < len(flow.plans)


def aggregate(flow: Flow) -> tuple[FlowStatus, StatusCode | None]:
    """Flow status and statusCode for the current steps, as the seed derives them.

    ``Succeeded`` holds while a step is in a success state: an SMS counted as ``Sent`` that later
    reports a final failure withdraws it, and the flow is derived again (failed, or failing over
    as if ``Sent`` had never come). ``Failed`` is final (failure statuses never change), and so
    is a cancelled flow (its code was verified).
    """
    if flow.cancelled:
        return FlowStatus.SUCCEEDED, None
    if has_ended(flow):
        # A later report (SEEN after DELIVERED) adds to a step's story, never reopens the flow.
        return flow.status, flow.status_code
    if not flow.steps:
        return FlowStatus.IN_PROGRESS, None
    last = flow.steps[-1]
    if any(s.status.outcome is Outcome.SUCCESS for s in flow.steps):
        # failoverOnDelivered: the next channel is still due, or has been sent and is not final;
        # expireOnDelivery: a delivery not seen before the ttl still turns into EXPIRED.
        if _awaiting_delivery_verdict(flow, last) or last.status.outcome is Outcome.PENDING:
            return FlowStatus.IN_PROGRESS, None
        return FlowStatus.SUCCEEDED, None
    if last.status.outcome is Outcome.PENDING:
        return FlowStatus.IN_PROGRESS, None
    plan = flow.plans[last.index]
    if triggers_failover(plan, last) and has_next(flow, last):
        return FlowStatus.IN_PROGRESS, None
    return FlowStatus.FAILED, _failure_code(flow, last)


def has_ended(flow: Flow) -> bool:
    """The flow is over as its steps stand now: cancelled, failed, or succeeded with a step still
    in a success state. Nothing more is sent for an ended flow."""
    if flow.cancelled or flow.status is FlowStatus.FAILED:
        return True
    return flow.status is FlowStatus.SUCCEEDED and any(
        s.status.outcome is Outcome.SUCCESS for s in flow.steps
    )


def is_settled(flow: Flow) -> bool:
    """Over for good: no report can change the flow's status any more.

    A flow whose only success is an SMS ``Sent`` has ended but is not settled: the delivery
    report may still withdraw that success (and the next channel may then still be sent).
    """
    if flow.cancelled or flow.status is FlowStatus.FAILED:
        return True
    return flow.status is FlowStatus.SUCCEEDED and any(
        s.status.outcome is Outcome.SUCCESS and s.status is not StepStatus.SENT for s in flow.steps
    )


def _awaiting_delivery_verdict(flow: Flow, last: Step) -> bool:
    deadline = flow.deadline
    if deadline is None:
        return False
    if deadline.kind is DeadlineKind.DELIVERED_WAIT:
        return True
    return (
        deadline.kind is DeadlineKind.STEP_TTL
        and last.status is StepStatus.DELIVERED
        and flow.plans[last.index].expire_on_delivery
    )


def _failure_code(flow: Flow, last: Step) -> StatusCode:
    if last.reject_reason is RejectReason.INSUFFICIENT_BALANCE or last.status is StepStatus.UNSENT:
        return StatusCode.INSUFFICIENT_BALANCE
    if last.reject_reason is RejectReason.SERVER_ERROR:
        return StatusCode.SERVER_ERROR
    if has_next(flow, last):
        return StatusCode.NOT_FAILOVER_TRIGGERED
    return StatusCode.NO_NEXT_STEP


STATUS_CODE_TEXT = {
    StatusCode.SERVER_ERROR: "server error; check authentication and retry",
    StatusCode.INSUFFICIENT_BALANCE: "insufficient balance; top up the Routee account",
    StatusCode.NO_NEXT_STEP: "no next step; the flow had no further channel to try",
    StatusCode.NOT_FAILOVER_TRIGGERED: (
        "not failover triggered; the status that would trigger the next channel did not occur"
    ),
}
