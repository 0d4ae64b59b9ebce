"""Issue 16: the flow's status under every order of an SMS step's reports, on both APIs.

Real Routee reports `Sent` before the final status, and reports may also come late, twice or out
of order. Whatever the order, the flow ends as its steps' final states say (seed
`otp-failover-tracking`): Failed when every step failed, Succeeded while one is in a success state,
and the next channel is sent once, when the failure triggers it.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from failover_otp.domain.commands import NotifyChange, SendStep
from failover_otp.domain.events import DeadlineReached, SendAccepted, Start, StatusReported
from failover_otp.domain.flow import Deadline, DeadlineKind, FlowKind, StepPlan
from failover_otp.domain.statuses import Channel, FlowStatus, Outcome, StatusCode, StepStatus

from .factories import SMS_ID, VIBER_ID, Script, make_flow, moment, sms, viber

STEP_TTL = DeadlineKind.STEP_TTL

S = StepStatus

# Each: the SMS reports (a multiset), and what the flow must end as.
REPORT_SETS = [
    pytest.param((S.SENT, S.UNDELIVERED), id="sent-undelivered"),
    pytest.param((S.SENT, S.UNDELIVERED, S.SENT), id="sent-twice-undelivered"),
    pytest.param((S.SENT, S.SENT, S.UNDELIVERED, S.UNDELIVERED), id="both-twice"),
    pytest.param((S.QUEUED, S.SENT, S.FAILED), id="queued-sent-failed"),
    pytest.param((S.SENT, S.DELIVERED), id="sent-delivered"),
    pytest.param((S.SENT, S.DELIVERED, S.DELIVERED, S.QUEUED), id="sent-delivered-twice"),
]

# The product's OTP flow after its Viber step failed over, and the standard API's SMS flows.
SHAPES = [
    pytest.param(FlowKind.OTP, (viber(), sms()), id="otp-viber-sms"),
    pytest.param(FlowKind.OTP, (sms(),), id="otp-sms-only"),
    pytest.param(FlowKind.STANDARD, (sms(),), id="standard-sms-only"),
    pytest.param(FlowKind.STANDARD, (viber(), sms()), id="standard-viber-sms"),
    pytest.param(FlowKind.STANDARD, (sms(), viber()), id="standard-sms-viber"),
]


def _sms_index(plans: tuple[StepPlan, ...]) -> int:
    return next(i for i, plan in enumerate(plans) if plan.channel is Channel.SMS)


def _at_sms(kind: FlowKind, plans: tuple[StepPlan, ...]) -> Script:
    """The flow with its SMS step accepted (after a failed Viber step when the flow has one)."""
    script = Script(make_flow(*plans, kind=kind))
    script.at(0, Start())
    if _sms_index(plans) == 1:
        script.at(0, SendAccepted(0, VIBER_ID))
        script.at(1, StatusReported(VIBER_ID, S.FAILED))
    script.at(1, SendAccepted(_sms_index(plans), SMS_ID))
    return script


def _expected(plans: tuple[StepPlan, ...], reports: tuple[StepStatus, ...]) -> FlowStatus:
    if not any(r.outcome is Outcome.FAILURE for r in reports):
        return FlowStatus.SUCCEEDED
    # A failed SMS fails over when a channel follows it; else every step has failed.
    return FlowStatus.IN_PROGRESS if _sms_index(plans) + 1 < len(plans) else FlowStatus.FAILED


@pytest.mark.parametrize(("kind", "plans"), SHAPES)
@pytest.mark.parametrize("reports", REPORT_SETS)
def test_every_report_order_ends_the_same(
    kind: FlowKind, plans: tuple[StepPlan, ...], reports: tuple[StepStatus, ...]
) -> None:
    outcomes = set()
    for order in sorted(set(itertools.permutations(reports))):
        script = _at_sms(kind, plans)
        sends_before = len(script.sends)
        for seconds, status in enumerate(order, start=2):
            script.at(seconds, StatusReported(SMS_ID, status))
        flow = script.flow
        sms_step = next(s for s in flow.steps if s.tracking_id == SMS_ID)
        final = max(reports, key=lambda s: s.rank)
        assert sms_step.status is final, order
        assert flow.status is _expected(plans, reports), order
        if flow.status is FlowStatus.FAILED:
            assert flow.status_code is StatusCode.NO_NEXT_STEP
            assert flow.error
        # The next channel is sent exactly once, and only when the SMS failed.
        opened = script.sends[sends_before:]
        assert opened == (
            [SendStep(sms_step.index + 1)] if flow.status is FlowStatus.IN_PROGRESS else []
        )
        # The last notification tells the final story.
        last_note = max(i for i, d in enumerate(script.decisions) if NotifyChange() in d.commands)
        assert script.decisions[last_note].flow.status is flow.status
        outcomes.add((flow.status, flow.status_code, tuple(s.status for s in flow.steps)))
    assert len(outcomes) == 1, outcomes


@pytest.mark.parametrize(("kind", "plans"), SHAPES)
def test_sent_then_undelivered_notifies_succeeded_then_the_failure(
    kind: FlowKind, plans: tuple[StepPlan, ...]
) -> None:
    script = _at_sms(kind, plans)
    sent = script.at(2, StatusReported(SMS_ID, S.SENT))
    assert sent.flow.status is FlowStatus.SUCCEEDED
    assert NotifyChange() in sent.commands
    undelivered = script.at(3, StatusReported(SMS_ID, S.UNDELIVERED))
    assert undelivered.flow.status is _expected(plans, (S.UNDELIVERED,))
    assert NotifyChange() in undelivered.commands
    # A duplicate of either report afterwards changes nothing and notifies nothing.
    for status in (S.UNDELIVERED, S.SENT):
        again = script.at(4, StatusReported(SMS_ID, status))
        assert again.flow is undelivered.flow
        assert again.commands == ()


def test_a_flow_succeeded_on_sent_keeps_watching_its_message_until_the_ttl() -> None:
    # Reports may never come (callbacks lost): the ttl deadline stays, so the worker and the
    # pending-message poller still look the message up and can learn the final status.
    script = _at_sms(FlowKind.OTP, (sms(300),))
    sent = script.at(2, StatusReported(SMS_ID, S.SENT))
    assert sent.flow.status is FlowStatus.SUCCEEDED
    assert sent.flow.deadline == Deadline(moment(1) + timedelta(seconds=300), STEP_TTL, 0)
    # The ttl passes with the message still `Sent` (nothing more was learnt): it stays so.
    due = script.at(301, DeadlineReached(STEP_TTL, 0))
    assert (due.flow.status, due.flow.deadline) == (FlowStatus.SUCCEEDED, None)
    assert due.flow.steps[0].status is S.SENT
    assert due.commands == ()


def test_a_settled_flow_waits_for_nothing() -> None:
    script = _at_sms(FlowKind.STANDARD, (sms(300),))
    script.at(2, StatusReported(SMS_ID, S.SENT))
    delivered = script.at(3, StatusReported(SMS_ID, S.DELIVERED))
    assert (delivered.flow.status, delivered.flow.deadline) == (FlowStatus.SUCCEEDED, None)
