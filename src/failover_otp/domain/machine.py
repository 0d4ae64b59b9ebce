"""The transition function: ``decide(flow, event, now=...) -> Decision``.

It never sends, sleeps, reads the clock or writes: it returns the new state and the commands the
shell runs once that state is saved. Deadlines are part of the state (one per flow), so a saved
flow always says what it waits for and until when.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from failover_otp.domain.adaptive_ttl import choose_ttl
from failover_otp.domain.aggregate import (
    STATUS_CODE_TEXT,
    aggregate,
    has_ended,
    has_next,
    is_settled,
    triggers_failover,
)
from failover_otp.domain.commands import Command, NotifyChange, SendStep
from failover_otp.domain.delivery_model import EMPTY_MODEL, DeliveryModel, ModelKey
from failover_otp.domain.events import (
    Cancel,
    DeadlineReached,
    Event,
    SendAccepted,
    SendRejected,
    Start,
    StatusReported,
)
from failover_otp.domain.flow import (
    Deadline,
    DeadlineKind,
    Flow,
    Role,
    Step,
    StepPlan,
    step_tracking_id,
)
from failover_otp.domain.statuses import (
    Channel,
    FlowStatus,
    Outcome,
    RejectReason,
    StepStatus,
    can_move,
)

# How long (real seconds, never scaled: it is infrastructure time) a send may stay unanswered
# before the worker retries it, and how many attempts a step gets before it counts as failed.
SEND_ANSWER_TIMEOUT = timedelta(seconds=30)
MAX_SEND_ATTEMPTS = 5

# What a step that ran out of time without a final report becomes, per channel.
_EXPIRED_AS = {
    Channel.VIBER: StepStatus.EXPIRED,
    Channel.SMS: StepStatus.UNDELIVERED,
    Channel.VOICE: StepStatus.NO_ANSWER,
}


@dataclass(frozen=True, slots=True)
class Decision:
    flow: Flow
    commands: tuple[Command, ...] = ()


def decide(
    flow: Flow,
    event: Event,
    *,
    now: datetime,
    time_scale: float = 1.0,
    model: DeliveryModel = EMPTY_MODEL,
) -> Decision:
    """Apply ``event`` to ``flow`` at ``now``.

    ``time_scale`` divides every ttl the engine waits for (demos and tests run faster); it never
    changes the durations the flow reports. ``model`` is the delivery history a step with
    ``"ttl": "auto"`` chooses its ttl from when its send is accepted.
    """
    ctx = _Context(now=now, time_scale=time_scale, model=model)
    match event:
        case Start():
            new, cmds = (flow, []) if flow.steps else ctx.open_step(flow, 0, failover_from=None)
        case SendAccepted():
            new, cmds = ctx.accepted(flow, event)
        case SendRejected():
            new, cmds = ctx.rejected(flow, event)
        case StatusReported():
            new, cmds = ctx.reported(flow, event)
        case DeadlineReached():
            new, cmds = ctx.deadline(flow, event)
        case Cancel():
            new, cmds = ctx.cancel(flow)
    return _settle(flow, new, cmds, now)


def _settle(old: Flow, new: Flow, cmds: list[Command], now: datetime) -> Decision:
    status, code = aggregate(new)
    error = new.error
    if status is FlowStatus.FAILED and code is not None and old.status is not FlowStatus.FAILED:
        last = new.steps[-1] if new.steps else None
        error = (last.error_message if last else None) or STATUS_CODE_TEXT[code]
    new = replace(new, status=status, status_code=code, error=error)
    if is_settled(new):
        # Nothing left to wait for. A flow that succeeded on an SMS `Sent` alone is not settled
        # and keeps its ttl deadline: the worker still looks the message up if its final report
        # never comes.
        new = replace(new, deadline=None)
    if new == old:
        return Decision(old)
    new = replace(new, updated_at=now)
    if _story(new) != _story(old):
        cmds.append(NotifyChange())
    return Decision(new, tuple(cmds))


def _story(flow: Flow) -> tuple[object, ...]:
    """What a customer's webhook shows; a change here is worth a notification."""
    return (
        flow.status,
        flow.status_code,
        tuple(
            (s.tracking_id, s.status, s.price, s.answered_by, s.call_seconds)
            for s in flow.steps
            if s.status is not StepStatus.SENDING
        ),
    )


@dataclass(frozen=True, slots=True)
class _Context:
    now: datetime
    time_scale: float
    model: DeliveryModel

    def after(self, seconds: float) -> datetime:
        return self.now + timedelta(seconds=seconds / self.time_scale)

    def open_step(
        self, flow: Flow, index: int, *, failover_from: str | None
    ) -> tuple[Flow, list[Command]]:
        plan = flow.plans[index]
        step = Step(
            index=index,
            tracking_id=step_tracking_id(flow.id, index),
            role=Role.PRIMARY if not flow.steps else Role.FAILOVER,
            channel=plan.channel,
            to=plan.to,
            status=StepStatus.SENDING,
            created_at=self.now,
            updated_at=self.now,
            failover_from=failover_from,
        )
        deadline = Deadline(self.now + SEND_ANSWER_TIMEOUT, DeadlineKind.SEND_RETRY, index)
        return replace(flow.with_step(step), deadline=deadline), [SendStep(index)]

    def accepted(self, flow: Flow, event: SendAccepted) -> tuple[Flow, list[Command]]:
        step = flow.step_for(event.index)
        if step is None or step.status is not StepStatus.SENDING:
            return flow, []  # a duplicate answer for a send already settled
        step = replace(
            step,
            tracking_id=event.message_id,
            status=event.status,
            sent_at=self.now,
            updated_at=self.now,
            price=event.price,
            parts=event.parts,
            country=event.country,
            operator=event.operator,
        )
        plan = flow.plans[step.index]
        if plan.auto_ttl is not None:
            key = ModelKey(step.channel, event.country, event.operator)
            step = replace(step, ttl_choice=choose_ttl(self.model, key, plan.auto_ttl))
        ttl = _ttl_of(plan, step)
        deadline = (
            Deadline(self.after(ttl), DeadlineKind.STEP_TTL, step.index)
            if ttl is not None
            else None
        )
        flow = replace(flow.with_step(step), deadline=deadline)
        return self.after_status(flow, step)

    def rejected(self, flow: Flow, event: SendRejected) -> tuple[Flow, list[Command]]:
        step = flow.step_for(event.index)
        if step is None or step.status is not StepStatus.SENDING:
            return flow, []
        status = (
            StepStatus.UNSENT
            if event.reason is RejectReason.INSUFFICIENT_BALANCE
            else StepStatus.FAILED
        )
        step = replace(
            step,
            status=status,
            detailed_status=_REJECT_DETAIL[event.reason],
            error_message=event.message,
            reject_reason=event.reason,
            updated_at=self.now,
        )
        return self.after_failure(replace(flow.with_step(step), deadline=None), step)

    def reported(self, flow: Flow, event: StatusReported) -> tuple[Flow, list[Command]]:
        step = flow.step_by_tracking_id(event.tracking_id)
        if step is None or step.status is StepStatus.SENDING:
            # A SENDING step still carries our own placeholder id, which no provider knows: a
            # report on it is not about a real message and must not pre-empt the send's answer.
            return flow, []
        step = _with_call(step, event)
        if not can_move(step.status, event.status):
            if event.price is not None and step.price is None:
                step = replace(step, price=event.price)
            return flow.with_step(step), []
        reached_handset = event.status in _REACHED_HANDSET
        step = replace(
            step,
            status=event.status,
            # Detailed statuses are title-cased in every channel ("Delivered", "Expired").
            detailed_status=event.detailed_status or event.status.render(Channel.SMS),
            updated_at=self.now,
            price=event.price if event.price is not None else step.price,
            delivered_at=step.delivered_at or ((event.at or self.now) if reached_handset else None),
        )
        flow = flow.with_step(step)
        if step.index != flow.steps[-1].index:
            return flow, []  # a late report on an earlier step: recorded, decides nothing
        return self.after_status(flow, step)

    def after_status(self, flow: Flow, step: Step) -> tuple[Flow, list[Command]]:
        """What the current step's new status means for the flow."""
        if step.status.outcome is Outcome.FAILURE:
            return self.after_failure(replace(flow, deadline=None), step)
        if step.status.outcome is Outcome.SUCCESS:
            return replace(flow, deadline=self.deadline_after_success(flow, step)), []
        return flow, []  # still on its way: keep waiting for what the flow waited for

    def deadline_after_success(self, flow: Flow, step: Step) -> Deadline | None:
        plan = flow.plans[step.index]
        if step.status is StepStatus.DELIVERED:
            ttl = _ttl_of(plan, step)
            if plan.failover_on_delivered and has_next(flow, step) and ttl is not None:
                due = self.after(ttl)
                return Deadline(due, DeadlineKind.DELIVERED_WAIT, step.index)
            if plan.expire_on_delivery:
                return flow.deadline  # the ttl deadline turns an unseen delivery into EXPIRED
        if step.status is StepStatus.SENT:
            return flow.deadline
        return None

    def after_failure(self, flow: Flow, step: Step) -> tuple[Flow, list[Command]]:
        plan = flow.plans[step.index]
        if has_ended(flow):
            # Cancelled, or another step still succeeds. A flow whose only success was an SMS
            # `Sent` has not ended: that success is withdrawn and the failure counts as usual.
            return flow, []
        if triggers_failover(plan, step) and has_next(flow, step):
            return self.open_step(flow, step.index + 1, failover_from=step.tracking_id)
        return flow, []

    def deadline(self, flow: Flow, event: DeadlineReached) -> tuple[Flow, list[Command]]:
        due = flow.deadline
        if is_settled(flow):
            return flow, []
        if due is None or (due.kind, due.step_index) != (event.kind, event.step_index):
            return flow, []  # stale: the flow moved on since this deadline was claimed
        if due.due_at > self.now:
            return flow, []
        step = flow.step_for(due.step_index)
        if step is None:
            return replace(flow, deadline=None), []
        match due.kind:
            case DeadlineKind.SEND_RETRY:
                return self.retry_send(flow, step)
            case DeadlineKind.STEP_TTL:
                return self.expire(flow, step)
            case DeadlineKind.DELIVERED_WAIT:
                if step.status is StepStatus.DELIVERED and has_next(flow, step):
                    flow = replace(flow, deadline=None)
                    return self.open_step(flow, step.index + 1, failover_from=step.tracking_id)
                return replace(flow, deadline=None), []

    def retry_send(self, flow: Flow, step: Step) -> tuple[Flow, list[Command]]:
        if step.status is not StepStatus.SENDING:
            return replace(flow, deadline=None), []
        if step.send_attempts >= MAX_SEND_ATTEMPTS:
            rejected = SendRejected(
                step.index, RejectReason.SERVER_ERROR, "the provider never answered the send"
            )
            return self.rejected(flow, rejected)
        step = replace(step, send_attempts=step.send_attempts + 1, updated_at=self.now)
        deadline = Deadline(self.now + SEND_ANSWER_TIMEOUT, DeadlineKind.SEND_RETRY, step.index)
        return replace(flow.with_step(step), deadline=deadline), [SendStep(step.index, retry=True)]

    def expire(self, flow: Flow, step: Step) -> tuple[Flow, list[Command]]:
        plan = flow.plans[step.index]
        if step.status is StepStatus.DELIVERED and plan.expire_on_delivery:
            step = replace(
                step,
                status=StepStatus.EXPIRED,
                detailed_status="Expired",
                expired_on_delivery_at=self.now,
                updated_at=self.now,
            )
        elif step.status.outcome is Outcome.PENDING and step.status is not StepStatus.SENDING:
            step = replace(
                step,
                status=_EXPIRED_AS[step.channel],
                detailed_status="Expired",
                updated_at=self.now,
            )
        else:
            return replace(flow, deadline=None), []
        return self.after_failure(replace(flow.with_step(step), deadline=None), step)

    def cancel(self, flow: Flow) -> tuple[Flow, list[Command]]:
        if is_settled(flow):
            return flow, []
        return replace(flow, deadline=None, cancelled=True), []


def _with_call(step: Step, event: StatusReported) -> Step:
    """The call facts a Voice report carries, kept once known (a later report may omit them)."""
    return replace(
        step,
        answered_by=event.answered_by or step.answered_by,
        call_seconds=event.call_seconds if event.call_seconds is not None else step.call_seconds,
    )


def _ttl_of(plan: StepPlan, step: Step) -> float | None:
    """The ttl the step waits for: the one chosen for it (auto), else the one asked for."""
    return step.ttl_choice.seconds if step.ttl_choice is not None else plan.ttl_seconds


_REACHED_HANDSET = frozenset({StepStatus.DELIVERED, StepStatus.SEEN, StepStatus.COMPLETED})

_REJECT_DETAIL = {
    RejectReason.INSUFFICIENT_BALANCE: "Insufficient balance",
    RejectReason.SERVER_ERROR: "Server error",
    RejectReason.INVALID_REQUEST: "Rejected",
}
