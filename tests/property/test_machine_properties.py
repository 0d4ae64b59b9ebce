"""Properties of ``decide`` under random event sequences.

A Hypothesis state machine builds a random flow (half the time the product's Viber -> SMS, else
1-3 steps over any channels with random failoverOnStatuses; random ttls, failoverOnDelivered and
expireOnDelivery on Viber), starts it, then throws
random events at it while time moves forward: accepted and refused sends for any step index,
reports of any status for any known tracking id (and unknown ids), any deadline kind for any
step, the flow's real deadline once due, cancellation and exact replays of the previous event.

Checked on every transition: statuses only move forward, a settled flow's status never changes
and an ended one only when its one success (an SMS `Sent`) turns into a failure, at most one step
is opened per event and it continues the chain, commands match the new state, and notifications
follow the visible story. Checked on every state: the shape of the steps, the status/statusCode
pairing (Succeeded only while a step is in a success state, Failed only when every step failed),
and liveness (a flow that is not over always has a deadline, and firing deadlines ends it within a
bounded number of events, whether or not sends are answered).

Apart from the state machine: the order in which a step's reports arrive (`Sent` before or after
the final status, duplicates) never changes how the flow ends (issue 16).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from failover_otp.domain.aggregate import has_ended, is_settled
from failover_otp.domain.commands import NotifyChange, SendStep
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
    DeadlineKind,
    Flow,
    FlowKind,
    Role,
    StepPlan,
)
from failover_otp.domain.machine import MAX_SEND_ATTEMPTS, decide
from failover_otp.domain.statuses import (
    DEFAULT_FAILOVER_ON,
    Channel,
    FlowStatus,
    Outcome,
    RejectReason,
    StatusCode,
    StepStatus,
)

FLOW_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
T0 = datetime(2026, 2, 16, 12, 0, tzinfo=UTC)
FAILURES = sorted(s for s in StepStatus if s.outcome is Outcome.FAILURE)
SUCCESSES = sorted(s for s in StepStatus if s.outcome is Outcome.SUCCESS)
EXPIRED_AS = {
    Channel.VIBER: StepStatus.EXPIRED,
    Channel.SMS: StepStatus.UNDELIVERED,
    Channel.VOICE: StepStatus.NO_ANSWER,
}
TTLS = st.sampled_from([30.0, 120.0, 300.0])
PRICES = st.sampled_from([None, 0.0093, 0.0375, 0.042])


@st.composite
def any_plans(draw: st.DrawFn) -> tuple[StepPlan, ...]:
    """1-3 steps over any channels, with random ttls and failoverOnStatuses."""
    count = draw(st.integers(min_value=1, max_value=3))
    result = []
    for _ in range(count):
        channel = draw(st.sampled_from(list(Channel)))
        failover_on = draw(
            st.one_of(
                st.just(DEFAULT_FAILOVER_ON[channel]),
                st.frozensets(st.sampled_from(FAILURES)),
            )
        )
        is_viber = channel is Channel.VIBER
        result.append(
            StepPlan(
                channel=channel,
                to="306912345671",
                ttl_seconds=draw(TTLS),
                failover_on=failover_on,
                failover_on_delivered=is_viber and draw(st.booleans()),
                expire_on_delivery=is_viber and draw(st.booleans()),
            )
        )
    return tuple(result)


@st.composite
def viber_then_sms(draw: st.DrawFn) -> tuple[StepPlan, ...]:
    """The product's own shape, with failoverOnDelivered or expireOnDelivery half the time."""
    return (
        StepPlan(
            channel=Channel.VIBER,
            to="306912345671",
            ttl_seconds=draw(TTLS),
            failover_on=DEFAULT_FAILOVER_ON[Channel.VIBER],
            failover_on_delivered=draw(st.booleans()),
            expire_on_delivery=draw(st.booleans()),
        ),
        StepPlan(
            channel=Channel.SMS,
            to="306912345671",
            ttl_seconds=draw(TTLS),
            failover_on=DEFAULT_FAILOVER_ON[Channel.SMS],
        ),
    )


def plans() -> st.SearchStrategy[tuple[StepPlan, ...]]:
    return st.one_of(viber_then_sms(), any_plans())


def story(flow: Flow) -> tuple[object, ...]:
    """What a customer's webhook shows: flow status and code, and each sent step's state."""
    return (
        flow.status,
        flow.status_code,
        tuple(
            (s.tracking_id, s.status, s.price, s.answered_by, s.call_seconds)
            for s in flow.steps
            if s.status is not StepStatus.SENDING
        ),
    )


def run_deadlines(flow: Flow, now: datetime, time_scale: float, *, answer: bool) -> Flow:
    """Fire the flow's deadline until it ends, answering each send when ``answer`` is set."""
    ids = itertools.count()
    bound = len(flow.plans) * (MAX_SEND_ATTEMPTS + 3) + 3
    for _ in range(bound):
        if flow.status.is_terminal:
            return flow
        deadline = flow.deadline
        assert deadline is not None, f"{flow.status} flow without a deadline: {flow}"
        now = max(now, deadline.due_at)
        decision = decide(
            flow,
            DeadlineReached(deadline.kind, deadline.step_index),
            now=now,
            time_scale=time_scale,
        )
        assert decision.flow != flow, f"a due deadline changed nothing: {deadline}"
        flow = decision.flow
        for command in decision.commands:
            if answer and isinstance(command, SendStep):
                accepted = SendAccepted(command.index, f"live-{next(ids)}")
                flow = decide(flow, accepted, now=now, time_scale=time_scale).flow
    assert flow.status.is_terminal, f"still {flow.status} after {bound} deadlines: {flow}"
    return flow


class FlowMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.flow = Flow(
            id=FLOW_ID,
            application_id="app-1",
            kind=FlowKind.OTP,
            plans=(),
            created_at=T0,
            updated_at=T0,
        )
        self.now = T0
        self.time_scale = 1.0
        self.last_event: Event = Start()
        self.message_ids = itertools.count()

    # --- driving --------------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        old = self.flow
        decision = decide(old, event, now=self.now, time_scale=self.time_scale)
        new = decision.flow
        # Pure: the same input always gives the same answer.
        assert decide(old, event, now=self.now, time_scale=self.time_scale) == decision
        self.check_transition(old, event, new, decision.commands)
        self.flow = new
        self.last_event = event

    def check_transition(
        self, old: Flow, event: Event, new: Flow, commands: tuple[object, ...]
    ) -> None:
        # A deadline that is not the flow's current one, or not due yet, changes nothing.
        if isinstance(event, DeadlineReached):
            current = old.deadline
            if (
                current is None
                or (current.kind, current.step_index) != (event.kind, event.step_index)
                or current.due_at > self.now
            ):
                assert new is old
        # Nothing changed: the very same flow and no commands.
        if new == old:
            assert new is old
            assert commands == ()
            return
        assert new.updated_at == self.now
        assert (new.id, new.plans, new.created_at) == (old.id, old.plans, old.created_at)

        # Steps never disappear and their statuses only move up in rank.
        assert len(new.steps) >= len(old.steps)
        for before in old.steps:
            after = new.step_for(before.index)
            assert after is not None
            assert after.status.rank >= before.status.rank, (before.status, after.status)
            if before.status is StepStatus.DELIVERED and after.status is not before.status:
                # Only SEEN, or our own expiry of an unseen delivery (expireOnDelivery).
                assert after.status is StepStatus.SEEN or (
                    after.status is StepStatus.EXPIRED
                    and isinstance(event, DeadlineReached)
                    and new.plans[after.index].expire_on_delivery
                )
            if (
                isinstance(event, DeadlineReached)
                and event.kind is DeadlineKind.STEP_TTL
                and after.status is not before.status
            ):
                assert after.status is EXPIRED_AS[after.channel]
                assert after.detailed_status == "Expired"
            if before.status is not StepStatus.SENDING:
                assert after.tracking_id == before.tracking_id

        # A settled flow's status never changes; an ended one only when the failure of its one
        # success (an SMS `Sent`) withdraws it, and a cancelled flow is settled.
        if is_settled(old):
            assert (new.status, new.status_code) == (old.status, old.status_code)
        elif old.status.is_terminal and new.status is not old.status:
            assert old.status is FlowStatus.SUCCEEDED
            withdrawn = [
                s
                for s in old.steps
                if s.status is StepStatus.SENT
                and new.steps[s.index].status.outcome is Outcome.FAILURE
            ]
            assert withdrawn, (old, event)
            assert not any(s.status.outcome is Outcome.SUCCESS for s in new.steps)
        if isinstance(event, Cancel) and not is_settled(old):
            assert new.cancelled
            assert new.status is FlowStatus.SUCCEEDED

        # At most one step per event, continuing the chain from a step that ended or was
        # delivered (failoverOnDelivered).
        opened = new.steps[len(old.steps) :]
        assert len(opened) <= 1
        sends = [c for c in commands if isinstance(c, SendStep)]
        for step in opened:
            assert step.index == len(old.steps)
            assert step.status is StepStatus.SENDING
            assert SendStep(step.index) in sends
            if step.index > 0:
                trigger = old.steps[-1]
                after_trigger = new.steps[step.index - 1]
                assert after_trigger.status.outcome is Outcome.FAILURE or (
                    trigger.status is StepStatus.DELIVERED
                    and new.plans[trigger.index].failover_on_delivered
                )

        # A refused send moves on whenever there is a next channel and the flow is still open.
        refused = [
            s
            for s in new.steps
            if s.reject_reason is not None and old.steps[s.index].reject_reason is None
        ]
        for step in refused:
            if step.index + 1 < len(new.plans) and not has_ended(old):
                assert new.step_for(step.index + 1) is not None

        # Waits are ttls divided by the time scale, counted from now.
        if new.deadline is not None and new.deadline != old.deadline:
            plan = new.plans[new.deadline.step_index]
            if new.deadline.kind is not DeadlineKind.SEND_RETRY:
                assert plan.ttl_seconds is not None
                wait = timedelta(seconds=plan.ttl_seconds / self.time_scale)
                assert new.deadline.due_at == self.now + wait

        # Every send command names the newest step, which is waiting for its send.
        assert len(sends) <= 1
        for send in sends:
            assert send.index == new.steps[-1].index
            assert new.steps[-1].status is StepStatus.SENDING

        # A notification exactly when the visible story changed.
        notes = [c for c in commands if isinstance(c, NotifyChange)]
        assert len(notes) == (1 if story(new) != story(old) else 0)

        # A deadline set now lies in the future.
        if new.deadline is not None and new.deadline != old.deadline:
            assert new.deadline.due_at > self.now

        # A flow that just ended has a reason for it.
        if new.status is FlowStatus.SUCCEEDED and not old.status.is_terminal:
            assert isinstance(event, Cancel) or any(
                s.status.outcome is Outcome.SUCCESS for s in new.steps
            )
            # failoverOnDelivered: an unseen delivery only ends the flow once its failover is final.
            for step in new.steps:
                plan = new.plans[step.index]
                if (
                    not isinstance(event, Cancel)
                    and step.status is StepStatus.DELIVERED
                    and plan.failover_on_delivered
                    and step.index + 1 < len(new.plans)
                ):
                    following = new.step_for(step.index + 1)
                    assert following is not None
                    assert following.status.outcome is not Outcome.PENDING
        if new.status is FlowStatus.FAILED and old.status is not FlowStatus.FAILED:
            assert new.error

    # --- rules ----------------------------------------------------------------------------------

    @initialize(plans=plans(), time_scale=st.sampled_from([1.0, 4.0]))
    def start(self, plans: tuple[StepPlan, ...], time_scale: float) -> None:
        self.flow = replace(self.flow, plans=plans)
        self.time_scale = time_scale
        self.apply(Start())

    @rule(seconds=st.integers(min_value=0, max_value=400))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule(index=st.integers(min_value=0, max_value=3), price=PRICES)
    def send_accepted(self, index: int, price: float | None) -> None:
        self.apply(SendAccepted(index, f"msg-{next(self.message_ids)}", price=price))

    @precondition(lambda self: self.flow.steps[-1].status is StepStatus.SENDING)
    @rule(price=PRICES)
    def newest_send_accepted(self, price: float | None) -> None:
        index = self.flow.steps[-1].index
        self.apply(SendAccepted(index, f"msg-{next(self.message_ids)}", price=price))

    @rule(index=st.integers(min_value=0, max_value=3), reason=st.sampled_from(list(RejectReason)))
    def send_rejected(self, index: int, reason: RejectReason) -> None:
        self.apply(SendRejected(index, reason, f"refused: {reason}"))

    @rule(
        data=st.data(),
        status=st.sampled_from(list(StepStatus)),
        price=PRICES,
        detailed=st.sampled_from([None, "Not Viber User", "TTL Expired"]),
    )
    def status_reported(
        self, data: st.DataObject, status: StepStatus, price: float | None, detailed: str | None
    ) -> None:
        known = [s.tracking_id for s in self.flow.steps]
        tracking_id = data.draw(st.sampled_from([*known, "unknown-message"]))
        at = data.draw(st.sampled_from([None, self.now - timedelta(seconds=1)]))
        self.report(StatusReported(tracking_id, status, detailed, price, at))

    @rule(status=st.one_of(st.sampled_from(SUCCESSES), st.sampled_from(FAILURES)))
    def newest_step_reported(self, status: StepStatus) -> None:
        self.report(StatusReported(self.flow.steps[-1].tracking_id, status))

    @rule(final=st.sampled_from([*FAILURES, StepStatus.DELIVERED]), sent_first=st.booleans())
    def newest_step_sent_and_final(self, final: StepStatus, sent_first: bool) -> None:
        # Routee's SMS order (`Sent`, then the final report), or the two swapped by the network.
        tracking_id = self.flow.steps[-1].tracking_id
        pair = (StepStatus.SENT, final) if sent_first else (final, StepStatus.SENT)
        for status in pair:
            self.report(StatusReported(tracking_id, status))

    @rule()
    def newest_step_delivered(self) -> None:
        # The product's central moment (and failoverOnDelivered's trigger) deserves its own rule.
        self.report(StatusReported(self.flow.steps[-1].tracking_id, StepStatus.DELIVERED))

    def report(self, event: StatusReported) -> None:
        self.apply(event)

    @rule(kind=st.sampled_from(list(DeadlineKind)), index=st.integers(min_value=0, max_value=3))
    def any_deadline(self, kind: DeadlineKind, index: int) -> None:
        self.apply(DeadlineReached(kind, index))

    @precondition(lambda self: self.flow.deadline is not None)
    @rule(late=st.integers(min_value=0, max_value=60))
    def deadline_due(self, late: int) -> None:
        deadline = self.flow.deadline
        assert deadline is not None
        self.now = max(self.now, deadline.due_at + timedelta(seconds=late))
        self.apply(DeadlineReached(deadline.kind, deadline.step_index))

    @rule(roll=st.integers(min_value=0, max_value=4))
    def cancel(self, roll: int) -> None:
        # Rarer than the other inputs, so most runs reach the flow's own ending.
        if roll == 0:
            self.apply(Cancel("code verified"))

    @rule()
    def replay(self) -> None:
        self.apply(self.last_event)

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def steps_are_a_chain(self) -> None:
        flow = self.flow
        assert [s.index for s in flow.steps] == list(range(len(flow.steps)))
        assert len(flow.steps) <= len(flow.plans)
        for step in flow.steps:
            assert step.channel is flow.plans[step.index].channel
            assert step.role is (Role.PRIMARY if step.index == 0 else Role.FAILOVER)
            assert 1 <= step.send_attempts <= MAX_SEND_ATTEMPTS
        for previous, step in itertools.pairwise(flow.steps):
            assert step.failover_from == previous.tracking_id
        assert flow.steps[0].failover_from is None
        # Only the newest step may still be waiting.
        for step in flow.steps[:-1]:
            assert step.status.outcome is not Outcome.PENDING

    @invariant()
    def status_and_code_agree(self) -> None:
        flow = self.flow
        assert flow.status is not FlowStatus.QUEUED
        assert (flow.status_code is not None) == (flow.status is FlowStatus.FAILED)
        # The seed: Succeeded while a step is in a success state (or the code was verified).
        if flow.status is FlowStatus.SUCCEEDED:
            assert flow.cancelled or any(s.status.outcome is Outcome.SUCCESS for s in flow.steps)
        if flow.cancelled:
            assert flow.status is FlowStatus.SUCCEEDED
        if flow.status is FlowStatus.FAILED:
            assert all(s.status.outcome is Outcome.FAILURE for s in flow.steps)
            last = flow.steps[-1]
            match flow.status_code:
                case StatusCode.SERVER_ERROR:
                    assert last.reject_reason is RejectReason.SERVER_ERROR
                case StatusCode.INSUFFICIENT_BALANCE:
                    # Refused for balance at send, or reported UNSENT (Routee's word for it).
                    assert (
                        last.reject_reason is RejectReason.INSUFFICIENT_BALANCE
                        or last.status is StepStatus.UNSENT
                    )
                case StatusCode.NO_NEXT_STEP:
                    assert len(flow.steps) == len(flow.plans)
                case StatusCode.NOT_FAILOVER_TRIGGERED:
                    assert len(flow.steps) < len(flow.plans)
                    assert last.reject_reason is None
                    assert last.status not in flow.plans[last.index].failover_on
        assert flow.total_cost == round(sum(s.price or 0.0 for s in flow.steps), 6)

    @invariant()
    def an_open_flow_waits_for_something(self) -> None:
        flow = self.flow
        if is_settled(flow):
            assert flow.deadline is None
            return
        if flow.status.is_terminal:
            # Succeeded on an SMS `Sent` alone: at most the ttl deadline that still watches it.
            last = flow.steps[-1]
            assert last.status is StepStatus.SENT
            if flow.deadline is not None:
                assert (flow.deadline.kind, flow.deadline.step_index) == (
                    DeadlineKind.STEP_TTL,
                    last.index,
                )
            return
        assert flow.deadline is not None
        last = flow.steps[-1]
        assert flow.deadline.step_index == last.index
        if last.status is StepStatus.SENDING:
            assert flow.deadline.kind is DeadlineKind.SEND_RETRY

    @invariant()
    def deadlines_end_the_flow_when_sends_are_answered(self) -> None:
        run_deadlines(self.flow, self.now, self.time_scale, answer=True)

    @invariant()
    def deadlines_end_the_flow_when_sends_are_never_answered(self) -> None:
        run_deadlines(self.flow, self.now, self.time_scale, answer=False)


@settings(max_examples=150, deadline=None)
@given(
    plans=plans(),
    kind=st.sampled_from(list(FlowKind)),
    final=st.sampled_from([*FAILURES, StepStatus.DELIVERED]),
    repeats=st.integers(min_value=1, max_value=2),
    data=st.data(),
)
def test_report_order_never_changes_the_ending(
    plans: tuple[StepPlan, ...],
    kind: FlowKind,
    final: StepStatus,
    repeats: int,
    data: st.DataObject,
) -> None:
    """A step's reports (intermediate ones, its final one, duplicates) in any order end the flow
    as the final report alone does, for flows of either API."""
    start = Flow(
        id=FLOW_ID,
        application_id="app-1",
        kind=kind,
        plans=plans,
        created_at=T0,
        updated_at=T0,
    )

    def play(reports: list[StepStatus]) -> Flow:
        flow = decide(start, Start(), now=T0).flow
        flow = decide(flow, SendAccepted(0, "msg-0"), now=T0).flow
        for second, status in enumerate(reports, start=1):
            now = T0 + timedelta(seconds=second)
            flow = decide(flow, StatusReported("msg-0", status), now=now).flow
        return flow

    # Intermediate reports: queued, and `Sent` where Routee has it (SMS, Voice; never Viber).
    intermediate = [StepStatus.QUEUED]
    if plans[0].channel is not Channel.VIBER:
        intermediate.append(StepStatus.SENT)
    early = data.draw(st.lists(st.sampled_from(intermediate), min_size=1, max_size=4))
    reports = early + [final] * repeats
    shuffled = data.draw(st.permutations(reports))
    alone = play([final])
    ended = play(shuffled)

    def ending(flow: Flow) -> tuple[object, ...]:
        steps = tuple((s.index, s.status, s.tracking_id) for s in flow.steps)
        return flow.status, flow.status_code, steps, flow.deadline is not None

    assert ending(ended) == ending(alone), shuffled


FlowMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFlowMachine = FlowMachine.TestCase
