"""Flow status and statusCode from the steps, row by row of the seed's tables.

Seed "Flow-level statuses": InProgress cases (1)-(4), Succeeded with failoverOnDelivered false and
true, Failed; statusCode 0 server error, 1 insufficient balance, 2 no next step, 3 not failover
triggered.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from failover_otp.domain.aggregate import (
    STATUS_CODE_TEXT,
    aggregate,
    has_ended,
    has_next,
    is_settled,
    triggers_failover,
)
from failover_otp.domain.flow import Deadline, DeadlineKind, Flow, Step, StepPlan
from failover_otp.domain.statuses import Channel, FlowStatus, RejectReason, StatusCode, StepStatus

from .factories import T0, flow_with, make_step, sms, viber, voice

S = StepStatus
IN_PROGRESS = FlowStatus.IN_PROGRESS
SUCCEEDED = FlowStatus.SUCCEEDED
FAILED = FlowStatus.FAILED

VIBER_SMS = (viber(), sms())
FOD = (viber(failover_on_delivered=True), sms())
EOD = (viber(expire_on_delivery=True), sms())


def _deadline(kind: DeadlineKind, index: int = 0) -> Deadline:
    return Deadline(T0 + timedelta(seconds=120), kind, index)


def _v(status: StepStatus) -> Step:
    return make_step(0, status, channel=Channel.VIBER)


def _s(status: StepStatus, index: int = 1) -> Step:
    return make_step(index, status, channel=Channel.SMS)


def _rejected(index: int, channel: Channel, reason: RejectReason) -> Step:
    status = S.UNSENT if reason is RejectReason.INSUFFICIENT_BALANCE else S.FAILED
    return make_step(index, status, channel=channel, reject_reason=reason)


SEND_RETRY = _deadline(DeadlineKind.SEND_RETRY)
STEP_TTL = _deadline(DeadlineKind.STEP_TTL)
DELIVERED_WAIT = _deadline(DeadlineKind.DELIVERED_WAIT)

FLOW_STATUS_ROWS = [
    # --- InProgress (1): only the first step exists so far.
    pytest.param(flow_with(VIBER_SMS), IN_PROGRESS, None, id="no-steps-yet"),
    pytest.param(
        flow_with(VIBER_SMS, _v(S.SENDING), deadline=SEND_RETRY),
        IN_PROGRESS,
        None,
        id="case1-first-step-sending",
    ),
    pytest.param(
        flow_with(VIBER_SMS, _v(S.QUEUED), deadline=STEP_TTL),
        IN_PROGRESS,
        None,
        id="case1-first-step-queued",
    ),
    pytest.param(
        flow_with(FOD, _v(S.DELIVERED), deadline=DELIVERED_WAIT),
        IN_PROGRESS,
        None,
        id="case1-first-step-delivered-failover-on-delivered-still-due",
    ),
    pytest.param(
        flow_with(EOD, _v(S.DELIVERED), deadline=STEP_TTL),
        IN_PROGRESS,
        None,
        id="case1-expire-on-delivery-delivered-not-seen-yet",
    ),
    # --- InProgress (2): only the first step exists, it failed, a next channel will be tried.
    *(
        pytest.param(
            flow_with(VIBER_SMS, _v(status)), IN_PROGRESS, None, id=f"case2-viber-{status}"
        )
        for status in (S.UNDELIVERED, S.EXPIRED, S.FAILED)
    ),
    *(
        pytest.param(
            flow_with(VIBER_SMS, _rejected(0, Channel.VIBER, reason)),
            IN_PROGRESS,
            None,
            id=f"case2-viber-rejected-{reason}",
        )
        for reason in RejectReason
    ),
    # --- InProgress (3): two steps, not all failed, none succeeded.
    pytest.param(
        flow_with(VIBER_SMS, _v(S.EXPIRED), _s(S.SENDING), deadline=SEND_RETRY),
        IN_PROGRESS,
        None,
        id="case3-failover-sending",
    ),
    pytest.param(
        flow_with(VIBER_SMS, _v(S.UNDELIVERED), _s(S.QUEUED), deadline=STEP_TTL),
        IN_PROGRESS,
        None,
        id="case3-failover-queued",
    ),
    # --- InProgress (4): failoverOnDelivered, the failover step is not final yet.
    pytest.param(
        flow_with(FOD, _v(S.DELIVERED), _s(S.SENDING), deadline=SEND_RETRY),
        IN_PROGRESS,
        None,
        id="case4-failover-on-delivered-sms-sending",
    ),
    pytest.param(
        flow_with(FOD, _v(S.DELIVERED), _s(S.QUEUED), deadline=STEP_TTL),
        IN_PROGRESS,
        None,
        id="case4-failover-on-delivered-sms-queued",
    ),
    pytest.param(
        flow_with(FOD, _v(S.SEEN), _s(S.QUEUED), deadline=STEP_TTL),
        IN_PROGRESS,
        None,
        id="case4-primary-seen-late-sms-still-queued",
    ),
    # --- Succeeded, failoverOnDelivered false (or single step): as soon as a step succeeds.
    pytest.param(flow_with(VIBER_SMS, _v(S.DELIVERED)), SUCCEEDED, None, id="ok-viber-delivered"),
    pytest.param(flow_with(VIBER_SMS, _v(S.SEEN)), SUCCEEDED, None, id="ok-viber-seen"),
    pytest.param(flow_with((sms(),), _s(S.SENT, 0)), SUCCEEDED, None, id="ok-single-sms-sent"),
    pytest.param(
        flow_with((sms(),), _s(S.DELIVERED, 0)), SUCCEEDED, None, id="ok-single-sms-delivered"
    ),
    pytest.param(
        flow_with((sms(), viber()), _s(S.SENT, 0), deadline=STEP_TTL),
        SUCCEEDED,
        None,
        id="ok-sms-sent-before-a-next-step",
    ),
    pytest.param(
        flow_with(VIBER_SMS, _v(S.EXPIRED), _s(S.DELIVERED)),
        SUCCEEDED,
        None,
        id="ok-failover-sms-delivered",
    ),
    pytest.param(
        flow_with(VIBER_SMS, _v(S.UNDELIVERED), _s(S.SENT)),
        SUCCEEDED,
        None,
        id="ok-failover-sms-sent",
    ),
    pytest.param(
        flow_with((voice(), viber()), make_step(0, S.COMPLETED, channel=Channel.VOICE)),
        SUCCEEDED,
        None,
        id="ok-voice-completed",
    ),
    pytest.param(
        flow_with((viber(failover_on_delivered=True),), _v(S.DELIVERED)),
        SUCCEEDED,
        None,
        id="ok-failover-on-delivered-single-step",
    ),
    pytest.param(
        flow_with(EOD, _v(S.SEEN)), SUCCEEDED, None, id="ok-expire-on-delivery-seen-in-time"
    ),
    # --- Succeeded, failoverOnDelivered true and both steps exist: once the failover is final.
    pytest.param(
        flow_with(FOD, _v(S.DELIVERED), _s(S.DELIVERED)),
        SUCCEEDED,
        None,
        id="ok-fod-sms-delivered",
    ),
    pytest.param(
        flow_with(FOD, _v(S.DELIVERED), _s(S.SENT)), SUCCEEDED, None, id="ok-fod-sms-sent"
    ),
    pytest.param(
        flow_with(FOD, _v(S.DELIVERED), _s(S.UNDELIVERED)),
        SUCCEEDED,
        None,
        id="ok-fod-sms-undelivered",
    ),
    pytest.param(
        flow_with(FOD, _v(S.SEEN), _s(S.FAILED)),
        SUCCEEDED,
        None,
        id="ok-fod-primary-seen-sms-failed",
    ),
    pytest.param(
        flow_with(FOD, _v(S.DELIVERED), _rejected(1, Channel.SMS, RejectReason.SERVER_ERROR)),
        SUCCEEDED,
        None,
        id="ok-fod-sms-rejected",
    ),
    # --- Failed: every step that exists is a terminal failure.
    pytest.param(
        flow_with(VIBER_SMS, _v(S.EXPIRED), _s(S.UNDELIVERED)),
        FAILED,
        StatusCode.NO_NEXT_STEP,
        id="failed-both-channels",
    ),
    pytest.param(
        flow_with(VIBER_SMS, _v(S.FAILED), _s(S.FAILED)),
        FAILED,
        StatusCode.NO_NEXT_STEP,
        id="failed-both-channels-failed",
    ),
    pytest.param(
        flow_with((viber(),), _v(S.EXPIRED)),
        FAILED,
        StatusCode.NO_NEXT_STEP,
        id="failed-single-step",
    ),
    pytest.param(
        flow_with((viber(failover_on=frozenset({S.EXPIRED})), sms()), _v(S.UNDELIVERED)),
        FAILED,
        StatusCode.NOT_FAILOVER_TRIGGERED,
        id="failed-status-not-in-failover-on",
    ),
    pytest.param(
        flow_with(VIBER_SMS, _v(S.UNSENT)),
        FAILED,
        StatusCode.INSUFFICIENT_BALANCE,  # UNSENT is Routee's word for "no balance"
        id="failed-reported-unsent-means-insufficient-balance",
    ),
    pytest.param(
        flow_with((voice(), viber()), make_step(0, S.TERMINATED, channel=Channel.VOICE)),
        FAILED,
        StatusCode.NOT_FAILOVER_TRIGGERED,
        id="failed-voice-terminated-not-in-default-voice-set",
    ),
    pytest.param(
        flow_with(
            VIBER_SMS, _v(S.UNDELIVERED), _rejected(1, Channel.SMS, RejectReason.SERVER_ERROR)
        ),
        FAILED,
        StatusCode.SERVER_ERROR,
        id="code0-failover-server-error",
    ),
    pytest.param(
        flow_with((sms(),), _rejected(0, Channel.SMS, RejectReason.SERVER_ERROR)),
        FAILED,
        StatusCode.SERVER_ERROR,
        id="code0-single-step-server-error",
    ),
    pytest.param(
        flow_with(
            VIBER_SMS,
            _v(S.UNDELIVERED),
            _rejected(1, Channel.SMS, RejectReason.INSUFFICIENT_BALANCE),
        ),
        FAILED,
        StatusCode.INSUFFICIENT_BALANCE,
        id="code1-failover-unsent-balance",
    ),
    pytest.param(
        flow_with((viber(),), _rejected(0, Channel.VIBER, RejectReason.INSUFFICIENT_BALANCE)),
        FAILED,
        StatusCode.INSUFFICIENT_BALANCE,
        id="code1-single-step-balance",
    ),
    pytest.param(
        flow_with(
            VIBER_SMS, _v(S.UNDELIVERED), _rejected(1, Channel.SMS, RejectReason.INVALID_REQUEST)
        ),
        FAILED,
        StatusCode.NO_NEXT_STEP,
        id="code2-failover-invalid-request",
    ),
    pytest.param(
        flow_with(VIBER_SMS, _v(S.FAILED), _s(S.UNDELIVERED)),
        FAILED,
        StatusCode.NO_NEXT_STEP,
        id="code2-no-next-step",
    ),
    pytest.param(
        flow_with((viber(failover_on=frozenset()), sms()), _v(S.EXPIRED)),
        FAILED,
        StatusCode.NOT_FAILOVER_TRIGGERED,
        id="code3-empty-failover-on",
    ),
    # --- Succeeded only while a step is in a success state: a final failure after `Sent`
    # withdraws it (issue 16), and the flow is derived from its steps again.
    pytest.param(
        flow_with((sms(),), _s(S.UNDELIVERED, 0), status=SUCCEEDED),
        FAILED,
        StatusCode.NO_NEXT_STEP,
        id="sms-only-sent-then-undelivered-fails",
    ),
    pytest.param(
        flow_with(VIBER_SMS, _v(S.FAILED), _s(S.UNDELIVERED), status=SUCCEEDED),
        FAILED,
        StatusCode.NO_NEXT_STEP,
        id="viber-failed-sms-sent-then-undelivered-fails",
    ),
    pytest.param(
        flow_with((sms(), viber()), _s(S.UNDELIVERED, 0), status=SUCCEEDED),
        IN_PROGRESS,
        None,
        id="sms-sent-then-undelivered-with-a-next-step-fails-over",
    ),
    pytest.param(
        flow_with(
            (sms(failover_on=frozenset({S.FAILED})), viber()),
            _s(S.UNDELIVERED, 0),
            status=SUCCEEDED,
        ),
        FAILED,
        StatusCode.NOT_FAILOVER_TRIGGERED,
        id="sms-sent-then-undelivered-not-a-trigger",
    ),
    pytest.param(
        flow_with((sms(),), _s(S.UNSENT, 0), status=SUCCEEDED),
        FAILED,
        StatusCode.INSUFFICIENT_BALANCE,
        id="sms-sent-then-unsent-balance",
    ),
    pytest.param(
        flow_with(FOD, _v(S.DELIVERED), _s(S.UNDELIVERED), status=SUCCEEDED),
        SUCCEEDED,
        None,
        id="fod-sms-sent-then-undelivered-viber-still-delivered",
    ),
    pytest.param(
        flow_with(FOD, _v(S.SEEN), _s(S.SENT), status=SUCCEEDED),
        SUCCEEDED,
        None,
        id="ended-late-seen-never-reopens",
    ),
    # --- A cancelled flow (code verified) stays Succeeded whatever its steps report later.
    pytest.param(
        flow_with(VIBER_SMS, _v(S.QUEUED), status=SUCCEEDED, cancelled=True),
        SUCCEEDED,
        None,
        id="cancelled-while-queued",
    ),
    pytest.param(
        flow_with(VIBER_SMS, _v(S.EXPIRED), status=SUCCEEDED, cancelled=True),
        SUCCEEDED,
        None,
        id="cancelled-then-expired",
    ),
    pytest.param(
        flow_with((sms(),), _s(S.UNDELIVERED, 0), status=SUCCEEDED, cancelled=True),
        SUCCEEDED,
        None,
        id="cancelled-after-sent-then-undelivered",
    ),
    # --- Failed is final: failure statuses never change.
    pytest.param(
        flow_with(
            VIBER_SMS,
            _v(S.EXPIRED),
            _s(S.UNDELIVERED),
            status=FAILED,
            status_code=StatusCode.NO_NEXT_STEP,
        ),
        FAILED,
        StatusCode.NO_NEXT_STEP,
        id="failed-stays-failed",
    ),
]


@pytest.mark.parametrize(("flow", "status", "code"), FLOW_STATUS_ROWS)
def test_aggregate_follows_the_seed_table(
    flow: Flow, status: FlowStatus, code: StatusCode | None
) -> None:
    assert aggregate(flow) == (status, code)


@pytest.mark.parametrize(
    ("plan", "step", "expected"),
    [
        pytest.param(viber(), _v(S.EXPIRED), True, id="viber-expired-in-default"),
        pytest.param(viber(), _v(S.UNDELIVERED), True, id="viber-undelivered-in-default"),
        pytest.param(viber(), _v(S.FAILED), True, id="viber-failed-in-default"),
        pytest.param(viber(), _v(S.UNSENT), False, id="viber-reported-unsent-not-in-default"),
        pytest.param(sms(), _s(S.EXPIRED, 0), False, id="sms-expired-not-in-default"),
        pytest.param(sms(), _s(S.UNDELIVERED, 0), True, id="sms-undelivered"),
        pytest.param(
            voice(), make_step(0, S.NO_ANSWER, channel=Channel.VOICE), True, id="voice-noanswer"
        ),
        pytest.param(viber(), _v(S.DELIVERED), False, id="success-never-triggers"),
        pytest.param(viber(), _v(S.QUEUED), False, id="pending-never-triggers"),
        pytest.param(
            viber(failover_on=frozenset()),
            _rejected(0, Channel.VIBER, RejectReason.INVALID_REQUEST),
            True,
            id="rejected-send-always-triggers",
        ),
        pytest.param(
            viber(failover_on=frozenset()),
            _rejected(0, Channel.VIBER, RejectReason.INSUFFICIENT_BALANCE),
            True,
            id="rejected-balance-always-triggers",
        ),
        pytest.param(
            viber(failover_on=frozenset({S.EXPIRED})),
            _v(S.UNDELIVERED),
            False,
            id="custom-failover-on",
        ),
    ],
)
def test_triggers_failover(plan: StepPlan, step: Step, expected: bool) -> None:
    assert triggers_failover(plan, step) is expected


@pytest.mark.parametrize(
    ("plans", "index", "expected"),
    [
        pytest.param((viber(),), 0, False, id="single"),
        pytest.param(VIBER_SMS, 0, True, id="first-of-two"),
        pytest.param(VIBER_SMS, 1, False, id="last-of-two"),
        pytest.param((voice(), viber(), sms()), 1, True, id="middle-of-three"),
    ],
)
def test_has_next(plans: tuple[StepPlan, ...], index: int, expected: bool) -> None:
    flow = flow_with(plans)
    assert has_next(flow, make_step(index, S.FAILED)) is expected


@pytest.mark.parametrize(
    ("flow", "ended", "settled"),
    [
        pytest.param(flow_with(VIBER_SMS, _v(S.QUEUED)), False, False, id="in-progress"),
        pytest.param(
            flow_with((sms(),), _s(S.SENT, 0), status=SUCCEEDED), True, False, id="sent-only"
        ),
        pytest.param(
            flow_with((sms(),), _s(S.DELIVERED, 0), status=SUCCEEDED), True, True, id="delivered"
        ),
        pytest.param(
            flow_with(FOD, _v(S.DELIVERED), _s(S.SENT), status=SUCCEEDED),
            True,
            True,
            id="viber-delivered-sms-sent",
        ),
        pytest.param(
            flow_with((sms(),), _s(S.UNDELIVERED, 0), status=SUCCEEDED),
            False,
            False,
            id="sent-withdrawn",
        ),
        pytest.param(
            flow_with((sms(),), _s(S.SENT, 0), status=SUCCEEDED, cancelled=True),
            True,
            True,
            id="cancelled",
        ),
        pytest.param(
            flow_with((sms(),), _s(S.FAILED, 0), status=FAILED, status_code=StatusCode(2)),
            True,
            True,
            id="failed",
        ),
    ],
)
def test_ended_and_settled(flow: Flow, ended: bool, settled: bool) -> None:
    assert (has_ended(flow), is_settled(flow)) == (ended, settled)


def test_every_status_code_has_a_text() -> None:
    assert set(STATUS_CODE_TEXT) == set(StatusCode)
    assert STATUS_CODE_TEXT[StatusCode.INSUFFICIENT_BALANCE].startswith("insufficient balance")
