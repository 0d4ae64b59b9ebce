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
    """Flow status and statusCode for the current steps.

    Terminal statuses are sticky: a late report on one step (SEEN after DELIVERED, a DLR after an
    SMS counted as Sent) updates that step's story but never reopens or flips an ended flow.
    """
    if flow.status.is_terminal:
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
