"""The transition function, driven by event sequences.

Covers each event on its own, every row of the seed's flow-status and statusCode tables as a
sequence of events, the contract's ten sandbox digit stories on a Viber(120) -> SMS(300) flow,
failoverOnDelivered, send retries, stale and duplicate inputs, and change notifications.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from failover_otp.domain.aggregate import STATUS_CODE_TEXT, is_settled
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
    Deadline,
    DeadlineKind,
    FlowKind,
    Role,
    StepPlan,
    step_tracking_id,
)
from failover_otp.domain.machine import MAX_SEND_ATTEMPTS, SEND_ANSWER_TIMEOUT, decide
from failover_otp.domain.statuses import (
    Channel,
    FlowStatus,
    RejectReason,
    StatusCode,
    StepStatus,
)

from .factories import (
    FLOW_ID,
    PHONE,
    SMS_ID,
    SMS_PRICE,
    T0,
    VIBER_ID,
    VIBER_PRICE,
    VOICE_ID,
    Script,
    make_flow,
    moment,
    sms,
    viber,
    voice,
)

S = StepStatus
IN_PROGRESS = FlowStatus.IN_PROGRESS
SUCCEEDED = FlowStatus.SUCCEEDED
FAILED = FlowStatus.FAILED
STEP_TTL = DeadlineKind.STEP_TTL
DELIVERED_WAIT = DeadlineKind.DELIVERED_WAIT
SEND_RETRY = DeadlineKind.SEND_RETRY

Timed = tuple[float, Event]

VIBER_SMS = (viber(120), sms(300))
FOD = (viber(120, failover_on_delivered=True), sms(300))
EOD = (viber(120, expire_on_delivery=True), sms(300))

# --- Event shorthands: (seconds after creation, event).
START: Timed = (0, Start())
VIBER_ACCEPTED: Timed = (0, SendAccepted(0, VIBER_ID, price=VIBER_PRICE))


def sms_accepted(at: float) -> Timed:
    return (at, SendAccepted(1, SMS_ID, price=SMS_PRICE))


def on_viber(at: float, status: StepStatus) -> Timed:
    return (at, StatusReported(VIBER_ID, status))


def on_sms(at: float, status: StepStatus) -> Timed:
    return (at, StatusReported(SMS_ID, status))


def due(at: float, kind: DeadlineKind, index: int = 0) -> Timed:
    return (at, DeadlineReached(kind, index))


def refused(at: float, index: int, reason: RejectReason, message: str = "refused") -> Timed:
    return (at, SendRejected(index, reason, message))


def play(plans: tuple[StepPlan, ...], events: list[Timed], time_scale: float = 1.0) -> Script:
    script = Script(make_flow(*plans), time_scale=time_scale)
    script.play(events)
    return script


# =================================================================================================
# Each event on its own
# =================================================================================================


def test_start_opens_the_primary_step_and_asks_to_send_it() -> None:
    decision = decide(make_flow(), Start(), now=T0)
    flow = decision.flow
    (step,) = flow.steps
    assert step.index == 0
    assert step.role is Role.PRIMARY
    assert step.channel is Channel.VIBER
    assert step.to == PHONE
    assert step.status is S.SENDING
    assert step.tracking_id == step_tracking_id(FLOW_ID, 0)
    assert step.failover_from is None
    assert step.send_attempts == 1
    assert flow.status is IN_PROGRESS
    assert flow.deadline == Deadline(T0 + SEND_ANSWER_TIMEOUT, SEND_RETRY, 0)
    # A SENDING step is not part of the visible story yet: no notification.
    assert decision.commands == (SendStep(0),)


def test_start_twice_does_nothing() -> None:
    flow = decide(make_flow(), Start(), now=T0).flow
    decision = decide(flow, Start(), now=moment(1))
    assert decision.flow is flow
    assert decision.commands == ()


def test_step_tracking_id_is_derived_not_random() -> None:
    assert step_tracking_id(FLOW_ID, 0) == step_tracking_id(FLOW_ID, 0)
    assert step_tracking_id(FLOW_ID, 0) != step_tracking_id(FLOW_ID, 1)


def test_send_accepted_records_the_provider_message() -> None:
    script = play(VIBER_SMS, [START])
    decision = script.at(
        2, SendAccepted(0, VIBER_ID, price=VIBER_PRICE, parts=1, country="GR", operator="Cosmote")
    )
    step = decision.flow.steps[0]
    assert step.tracking_id == VIBER_ID
    assert step.status is S.QUEUED
    assert step.sent_at == moment(2)
    assert (step.price, step.parts, step.country, step.operator) == (
        VIBER_PRICE,
        1,
        "GR",
        "Cosmote",
    )
    assert decision.flow.deadline == Deadline(moment(2 + 120), STEP_TTL, 0)
    assert decision.flow.updated_at == moment(2)
    assert decision.commands == (NotifyChange(),)


@pytest.mark.parametrize(
    ("time_scale", "ttl_due", "retry_due"),
    [
        pytest.param(1.0, 120, 30, id="real-time"),
        pytest.param(10.0, 12, 30, id="ten-times-faster"),
        pytest.param(0.5, 240, 30, id="slower"),
    ],
)
def test_time_scale_divides_ttls_but_not_the_send_timeout(
    time_scale: float, ttl_due: float, retry_due: float
) -> None:
    script = Script(make_flow(), time_scale=time_scale)
    assert script.at(0, Start()).flow.deadline == Deadline(moment(retry_due), SEND_RETRY, 0)
    accepted = script.at(0, SendAccepted(0, VIBER_ID))
    assert accepted.flow.deadline == Deadline(moment(ttl_due), STEP_TTL, 0)


def test_a_step_without_ttl_waits_for_reports_only() -> None:
    script = play((viber(None), sms()), [START, VIBER_ACCEPTED])
    assert script.flow.deadline is None
    assert script.flow.status is IN_PROGRESS


@pytest.mark.parametrize(
    ("reason", "status", "detail"),
    [
        pytest.param(RejectReason.INSUFFICIENT_BALANCE, S.UNSENT, "Insufficient balance", id="bal"),
        pytest.param(RejectReason.SERVER_ERROR, S.FAILED, "Server error", id="server"),
        pytest.param(RejectReason.INVALID_REQUEST, S.FAILED, "Rejected", id="invalid"),
    ],
)
def test_a_rejected_send_always_fails_over(
    reason: RejectReason, status: StepStatus, detail: str
) -> None:
    # Even with an empty failoverOnStatuses: a send the provider refused always moves on.
    script = play((viber(failover_on=frozenset()), sms()), [START])
    decision = script.at(1, SendRejected(0, reason, "provider said no"))
    first, second = decision.flow.steps
    assert first.status is status
    assert first.detailed_status == detail
    assert first.error_message == "provider said no"
    assert first.reject_reason is reason
    assert first.tracking_id == step_tracking_id(FLOW_ID, 0)
    assert second.role is Role.FAILOVER
    assert second.channel is Channel.SMS
    assert second.status is S.SENDING
    assert second.failover_from == first.tracking_id
    assert decision.flow.status is IN_PROGRESS
    assert decision.flow.deadline == Deadline(moment(1) + SEND_ANSWER_TIMEOUT, SEND_RETRY, 1)
    assert decision.commands == (SendStep(1), NotifyChange())


def test_a_failure_in_failover_on_opens_the_next_step() -> None:
    script = play(VIBER_SMS, [START, VIBER_ACCEPTED])
    decision = script.at(5, StatusReported(VIBER_ID, S.UNDELIVERED))
    viber_step, sms_step = decision.flow.steps
    assert viber_step.status is S.UNDELIVERED
    assert viber_step.detailed_status == "Undelivered"
    assert sms_step.index == 1
    assert sms_step.role is Role.FAILOVER
    assert sms_step.failover_from == VIBER_ID
    assert sms_step.tracking_id == step_tracking_id(FLOW_ID, 1)
    assert sms_step.created_at == moment(5)
    assert decision.commands == (SendStep(1), NotifyChange())


def test_report_keeps_the_providers_detailed_status_and_price() -> None:
    script = play(VIBER_SMS, [START, (0, SendAccepted(0, VIBER_ID))])
    decision = script.at(
        1, StatusReported(VIBER_ID, S.UNDELIVERED, detailed_status="Not Viber User", price=0.01)
    )
    step = decision.flow.steps[0]
    assert (step.detailed_status, step.price) == ("Not Viber User", 0.01)


def test_delivered_at_comes_from_the_report_and_is_kept_on_seen() -> None:
    script = play(FOD, [START, VIBER_ACCEPTED])
    script.at(9, StatusReported(VIBER_ID, S.DELIVERED, at=moment(1)))
    assert script.flow.steps[0].delivered_at == moment(1)
    script.at(10, StatusReported(VIBER_ID, S.SEEN, at=moment(3)))
    assert script.flow.steps[0].delivered_at == moment(1)


def test_delivered_at_defaults_to_now() -> None:
    script = play(VIBER_SMS, [START, VIBER_ACCEPTED, on_viber(4, S.SEEN)])
    assert script.flow.steps[0].delivered_at == moment(4)


def test_a_price_on_a_report_that_cannot_move_is_still_recorded() -> None:
    script = play(FOD, [START, (0, SendAccepted(0, VIBER_ID)), on_viber(1, S.DELIVERED)])
    decision = script.at(2, StatusReported(VIBER_ID, S.DELIVERED, price=VIBER_PRICE))
    assert decision.flow.steps[0].price == VIBER_PRICE
    assert decision.commands == (NotifyChange(),)
    # ...but never overwrites a known price.
    again = script.at(3, StatusReported(VIBER_ID, S.DELIVERED, price=1.0))
    assert again.flow.steps[0].price == VIBER_PRICE
    assert again.commands == ()


@pytest.mark.parametrize(
    ("plan", "expired_as"),
    [
        pytest.param(viber(120), S.EXPIRED, id="viber-expired"),
        pytest.param(sms(120), S.UNDELIVERED, id="sms-undelivered"),
        pytest.param(voice(120), S.NO_ANSWER, id="voice-noanswer"),
    ],
)
def test_step_ttl_expires_a_queued_step_per_channel(plan: StepPlan, expired_as: StepStatus) -> None:
    script = play((plan,), [START, (0, SendAccepted(0, "m-1"))])
    assert script.at(119, DeadlineReached(STEP_TTL, 0)).commands == ()  # not due yet
    decision = script.at(120, DeadlineReached(STEP_TTL, 0))
    step = decision.flow.steps[0]
    assert (step.status, step.detailed_status) == (expired_as, "Expired")
    assert decision.flow.status is FAILED
    assert decision.flow.status_code is StatusCode.NO_NEXT_STEP
    assert decision.flow.deadline is None
    assert decision.commands == (NotifyChange(),)


def test_cancel_ends_the_flow_as_succeeded() -> None:
    script = play(VIBER_SMS, [START, VIBER_ACCEPTED])
    decision = script.at(10, Cancel("code verified"))
    assert decision.flow.status is SUCCEEDED
    assert decision.flow.status_code is None
    assert decision.flow.deadline is None
    assert decision.commands == (NotifyChange(),)
    # The ttl deadline that was pending is now stale.
    assert script.at(120, DeadlineReached(STEP_TTL, 0)).flow is decision.flow


def test_cancel_before_any_answer() -> None:
    script = play(VIBER_SMS, [START])
    decision = script.at(1, Cancel("code verified"))
    assert decision.flow.status is SUCCEEDED
    assert decision.flow.deadline is None


# =================================================================================================
# The seed's flow-status table as event sequences
# =================================================================================================

FLOW_STATUS_STORIES = [
    # InProgress (1): only the first step exists.
    pytest.param(VIBER_SMS, [START], IN_PROGRESS, None, (S.SENDING,), id="case1-sending"),
    pytest.param(
        VIBER_SMS, [START, VIBER_ACCEPTED], IN_PROGRESS, None, (S.QUEUED,), id="case1-queued"
    ),
    pytest.param(
        FOD,
        [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED)],
        IN_PROGRESS,
        None,
        (S.DELIVERED,),
        id="case1-delivered-with-failover-on-delivered",
    ),
    # InProgress (2): the first step failed; the next channel is being tried (send not answered).
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, on_viber(1, S.UNDELIVERED)],
        IN_PROGRESS,
        None,
        (S.UNDELIVERED, S.SENDING),
        id="case2-failed-next-being-sent",
    ),
    pytest.param(
        VIBER_SMS,
        [START, refused(0, 0, RejectReason.INSUFFICIENT_BALANCE)],
        IN_PROGRESS,
        None,
        (S.UNSENT, S.SENDING),
        id="case2-refused-next-being-sent",
    ),
    # InProgress (3): two steps, not all failed, none succeeded.
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, due(120, STEP_TTL), sms_accepted(120)],
        IN_PROGRESS,
        None,
        (S.EXPIRED, S.QUEUED),
        id="case3-failover-queued",
    ),
    # InProgress (4): failoverOnDelivered, the failover step is not final.
    pytest.param(
        FOD,
        [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED), due(121, DELIVERED_WAIT)],
        IN_PROGRESS,
        None,
        (S.DELIVERED, S.SENDING),
        id="case4-fod-sms-sending",
    ),
    pytest.param(
        FOD,
        [
            START,
            VIBER_ACCEPTED,
            on_viber(1, S.DELIVERED),
            due(121, DELIVERED_WAIT),
            sms_accepted(121),
            on_viber(200, S.SEEN),
        ],
        IN_PROGRESS,
        None,
        (S.SEEN, S.QUEUED),
        id="case4-fod-sms-queued-late-seen-decides-nothing",
    ),
    # Succeeded, failoverOnDelivered false: as soon as a step is Delivered/Sent.
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED)],
        SUCCEEDED,
        None,
        (S.DELIVERED,),
        id="ok-viber-delivered",
    ),
    pytest.param(
        (sms(),),
        [START, (0, SendAccepted(0, SMS_ID)), on_sms(1, S.SENT)],
        SUCCEEDED,
        None,
        (S.SENT,),
        id="ok-single-step-sms-sent",
    ),
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, on_viber(1, S.FAILED), sms_accepted(1), on_sms(2, S.SENT)],
        SUCCEEDED,
        None,
        (S.FAILED, S.SENT),
        id="ok-failover-sms-sent",
    ),
    # Succeeded, failoverOnDelivered true: only once the failover step is final.
    pytest.param(
        FOD,
        [
            START,
            VIBER_ACCEPTED,
            on_viber(1, S.DELIVERED),
            due(121, DELIVERED_WAIT),
            sms_accepted(121),
            on_sms(123, S.DELIVERED),
        ],
        SUCCEEDED,
        None,
        (S.DELIVERED, S.DELIVERED),
        id="ok-fod-sms-delivered",
    ),
    pytest.param(
        FOD,
        [
            START,
            VIBER_ACCEPTED,
            on_viber(1, S.DELIVERED),
            due(121, DELIVERED_WAIT),
            sms_accepted(121),
            on_sms(123, S.SENT),
        ],
        SUCCEEDED,
        None,
        (S.DELIVERED, S.SENT),
        id="ok-fod-sms-sent",
    ),
    pytest.param(
        FOD,
        [
            START,
            VIBER_ACCEPTED,
            on_viber(1, S.DELIVERED),
            due(121, DELIVERED_WAIT),
            sms_accepted(121),
            due(421, STEP_TTL, 1),
        ],
        SUCCEEDED,
        None,
        (S.DELIVERED, S.UNDELIVERED),
        id="ok-fod-sms-expired",
    ),
    pytest.param(
        FOD,
        [
            START,
            VIBER_ACCEPTED,
            on_viber(1, S.DELIVERED),
            due(121, DELIVERED_WAIT),
            refused(121, 1, RejectReason.INSUFFICIENT_BALANCE),
        ],
        SUCCEEDED,
        None,
        (S.DELIVERED, S.UNSENT),
        id="ok-fod-sms-refused",
    ),
    pytest.param(
        FOD,
        [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED), on_viber(3, S.SEEN)],
        SUCCEEDED,
        None,
        (S.SEEN,),
        id="ok-fod-seen-before-the-wait-ends",
    ),
    # expireOnDelivery (standard Viber): an unseen delivery expires at the ttl and fails over.
    pytest.param(
        EOD,
        [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED)],
        IN_PROGRESS,
        None,
        (S.DELIVERED,),
        id="case1-eod-delivered-awaiting-seen",
    ),
    pytest.param(
        EOD,
        [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED), on_viber(60, S.SEEN), due(120, STEP_TTL)],
        SUCCEEDED,
        None,
        (S.SEEN,),
        id="ok-eod-seen-in-time",
    ),
    pytest.param(
        EOD,
        [
            START,
            VIBER_ACCEPTED,
            on_viber(1, S.DELIVERED),
            due(120, STEP_TTL),
            sms_accepted(120),
            on_sms(122, S.DELIVERED),
        ],
        SUCCEEDED,
        None,
        (S.EXPIRED, S.DELIVERED),
        id="ok-eod-unseen-expired-then-sms",
    ),
    pytest.param(
        (viber(expire_on_delivery=True),),
        [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED), due(120, STEP_TTL)],
        FAILED,
        StatusCode.NO_NEXT_STEP,
        (S.EXPIRED,),
        id="code2-eod-single-step-unseen",
    ),
    # Failed: every step failed.
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, on_viber(1, S.UNDELIVERED), sms_accepted(1), on_sms(3, S.FAILED)],
        FAILED,
        StatusCode.NO_NEXT_STEP,
        (S.UNDELIVERED, S.FAILED),
        id="failed-viber-and-sms",
    ),
    # statusCode 0: server error.
    pytest.param(
        VIBER_SMS,
        [
            START,
            refused(0, 0, RejectReason.SERVER_ERROR),
            refused(0, 1, RejectReason.SERVER_ERROR),
        ],
        FAILED,
        StatusCode.SERVER_ERROR,
        (S.FAILED, S.FAILED),
        id="code0-server-error-on-both",
    ),
    pytest.param(
        (sms(),),
        [START, *(due(30 * n, SEND_RETRY) for n in range(1, MAX_SEND_ATTEMPTS + 1))],
        FAILED,
        StatusCode.SERVER_ERROR,
        (S.FAILED,),
        id="code0-send-never-answered",
    ),
    # statusCode 1: insufficient balance.
    pytest.param(
        VIBER_SMS,
        [
            START,
            VIBER_ACCEPTED,
            on_viber(1, S.EXPIRED),
            refused(1, 1, RejectReason.INSUFFICIENT_BALANCE),
        ],
        FAILED,
        StatusCode.INSUFFICIENT_BALANCE,
        (S.EXPIRED, S.UNSENT),
        id="code1-failover-refused-for-balance",
    ),
    pytest.param(
        (viber(),),
        [START, refused(0, 0, RejectReason.INSUFFICIENT_BALANCE)],
        FAILED,
        StatusCode.INSUFFICIENT_BALANCE,
        (S.UNSENT,),
        id="code1-single-step",
    ),
    # statusCode 2: no next step.
    pytest.param(
        (viber(),),
        [START, VIBER_ACCEPTED, due(120, STEP_TTL)],
        FAILED,
        StatusCode.NO_NEXT_STEP,
        (S.EXPIRED,),
        id="code2-single-step-expired",
    ),
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, on_viber(1, S.FAILED), refused(1, 1, RejectReason.INVALID_REQUEST)],
        FAILED,
        StatusCode.NO_NEXT_STEP,
        (S.FAILED, S.FAILED),
        id="code2-last-step-invalid-request",
    ),
    # statusCode 3: the failure is not one of the step's failoverOnStatuses.
    pytest.param(
        (viber(failover_on=frozenset({S.EXPIRED})), sms()),
        [START, VIBER_ACCEPTED, on_viber(1, S.UNDELIVERED)],
        FAILED,
        StatusCode.NOT_FAILOVER_TRIGGERED,
        (S.UNDELIVERED,),
        id="code3-undelivered-not-in-failover-on",
    ),
    pytest.param(
        (viber(failover_on=frozenset({S.FAILED})), sms()),
        [START, VIBER_ACCEPTED, due(120, STEP_TTL)],
        FAILED,
        StatusCode.NOT_FAILOVER_TRIGGERED,
        (S.EXPIRED,),
        id="code3-expired-not-in-failover-on",
    ),
]


@pytest.mark.parametrize(("plans", "events", "status", "code", "steps"), FLOW_STATUS_STORIES)
def test_flow_status_stories(
    plans: tuple[StepPlan, ...],
    events: list[Timed],
    status: FlowStatus,
    code: StatusCode | None,
    steps: tuple[StepStatus, ...],
) -> None:
    flow = play(plans, events).flow
    assert (flow.status, flow.status_code) == (status, code)
    assert tuple(s.status for s in flow.steps) == steps
    assert [s.role for s in flow.steps] == [Role.PRIMARY] + [Role.FAILOVER] * (len(steps) - 1)
    if is_settled(flow):
        assert flow.deadline is None
    else:
        # Still running, or succeeded on an SMS `Sent` alone: its ttl deadline still watches it.
        assert flow.deadline is not None


@pytest.mark.parametrize(
    ("events", "error"),
    [
        pytest.param(
            [START, VIBER_ACCEPTED, due(120, STEP_TTL), sms_accepted(120), on_sms(121, S.FAILED)],
            STATUS_CODE_TEXT[StatusCode.NO_NEXT_STEP],
            id="code-text-when-no-message",
        ),
        pytest.param(
            [
                START,
                VIBER_ACCEPTED,
                on_viber(1, S.UNDELIVERED),
                refused(1, 1, RejectReason.INSUFFICIENT_BALANCE, "Routee 400001009: balance"),
            ],
            "Routee 400001009: balance",
            id="providers-message",
        ),
    ],
)
def test_a_failed_flow_explains_itself(events: list[Timed], error: str) -> None:
    flow = play(VIBER_SMS, events).flow
    assert flow.status is FAILED
    assert flow.error == error


# =================================================================================================
# The contract's sandbox digit stories, on Viber(ttl 120) -> SMS(ttl 300)
# =================================================================================================

BOTH = VIBER_PRICE + SMS_PRICE

DIGIT_STORIES = [
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED), on_viber(3, S.SEEN)],
        SUCCEEDED,
        None,
        (S.SEEN,),
        VIBER_PRICE,
        [SendStep(0)],
        id="0-delivered-then-seen",
    ),
    pytest.param(
        FOD,
        [
            START,
            VIBER_ACCEPTED,
            on_viber(1, S.DELIVERED),
            on_viber(3, S.SEEN),
            due(121, DELIVERED_WAIT),
        ],
        SUCCEEDED,
        None,
        (S.SEEN,),
        VIBER_PRICE,
        [SendStep(0)],
        id="0-fod-seen-so-no-sms",
    ),
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, due(120, STEP_TTL), sms_accepted(120), on_sms(122, S.DELIVERED)],
        SUCCEEDED,
        None,
        (S.EXPIRED, S.DELIVERED),
        BOTH,
        [SendStep(0), SendStep(1)],
        id="1-expired-by-our-ttl-then-sms",
    ),
    pytest.param(
        VIBER_SMS,
        [
            START,
            VIBER_ACCEPTED,
            on_viber(120, S.EXPIRED),
            due(120, STEP_TTL),
            sms_accepted(120),
            on_sms(122, S.DELIVERED),
        ],
        SUCCEEDED,
        None,
        (S.EXPIRED, S.DELIVERED),
        BOTH,
        [SendStep(0), SendStep(1)],
        id="1-expired-by-report-then-sms",
    ),
    pytest.param(
        VIBER_SMS,
        [
            START,
            VIBER_ACCEPTED,
            on_viber(1, S.UNDELIVERED),
            sms_accepted(1),
            on_sms(3, S.DELIVERED),
        ],
        SUCCEEDED,
        None,
        (S.UNDELIVERED, S.DELIVERED),
        BOTH,
        [SendStep(0), SendStep(1)],
        id="2-undelivered-then-sms",
    ),
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, on_viber(1, S.FAILED), sms_accepted(1), on_sms(3, S.UNDELIVERED)],
        FAILED,
        StatusCode.NO_NEXT_STEP,
        (S.FAILED, S.UNDELIVERED),
        BOTH,
        [SendStep(0), SendStep(1)],
        id="3-failed-then-sms-undelivered",
    ),
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED), due(120, STEP_TTL)],
        SUCCEEDED,
        None,
        (S.DELIVERED,),
        VIBER_PRICE,
        [SendStep(0)],
        id="4-delivered-never-seen",
    ),
    pytest.param(
        FOD,
        [
            START,
            VIBER_ACCEPTED,
            on_viber(1, S.DELIVERED),
            due(121, DELIVERED_WAIT),
            sms_accepted(121),
            on_sms(123, S.DELIVERED),
        ],
        SUCCEEDED,
        None,
        (S.DELIVERED, S.DELIVERED),
        BOTH,
        [SendStep(0), SendStep(1)],
        id="4-fod-delivered-never-seen-then-sms",
    ),
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, due(120, STEP_TTL), sms_accepted(120), on_sms(121, S.FAILED)],
        FAILED,
        StatusCode.NO_NEXT_STEP,
        (S.EXPIRED, S.FAILED),
        BOTH,
        [SendStep(0), SendStep(1)],
        id="5-expired-then-sms-failed",
    ),
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, (60, StatusReported(VIBER_ID, S.DELIVERED, at=moment(1)))],
        SUCCEEDED,
        None,
        (S.DELIVERED,),
        VIBER_PRICE,
        [SendStep(0)],
        id="6-delivered-seen-only-by-lookup",
    ),
    pytest.param(
        VIBER_SMS,
        [
            START,
            due(30, SEND_RETRY),
            (30, SendAccepted(0, VIBER_ID, price=VIBER_PRICE)),
            on_viber(31, S.DELIVERED),
        ],
        SUCCEEDED,
        None,
        (S.DELIVERED,),
        VIBER_PRICE,
        [SendStep(0), SendStep(0, retry=True)],
        id="7-first-send-unanswered-retry-accepted",
    ),
    pytest.param(
        VIBER_SMS,
        [
            START,
            VIBER_ACCEPTED,
            on_viber(1, S.UNDELIVERED),
            refused(1, 1, RejectReason.INSUFFICIENT_BALANCE),
        ],
        FAILED,
        StatusCode.INSUFFICIENT_BALANCE,
        (S.UNDELIVERED, S.UNSENT),
        VIBER_PRICE,
        [SendStep(0), SendStep(1)],
        id="8-undelivered-then-sms-refused-for-balance",
    ),
    pytest.param(
        VIBER_SMS,
        [
            START,
            refused(0, 0, RejectReason.INVALID_REQUEST, "invalid sender"),
            sms_accepted(0),
            on_sms(2, S.DELIVERED),
        ],
        SUCCEEDED,
        None,
        (S.FAILED, S.DELIVERED),
        SMS_PRICE,
        [SendStep(0), SendStep(1)],
        id="9-bad-sender-then-sms",
    ),
]


@pytest.mark.parametrize(
    ("plans", "events", "status", "code", "steps", "cost", "sends"), DIGIT_STORIES
)
def test_sandbox_digit_stories(
    plans: tuple[StepPlan, ...],
    events: list[Timed],
    status: FlowStatus,
    code: StatusCode | None,
    steps: tuple[StepStatus, ...],
    cost: float,
    sends: list[SendStep],
) -> None:
    script = play(plans, events)
    flow = script.flow
    assert (flow.status, flow.status_code) == (status, code)
    assert tuple(s.status for s in flow.steps) == steps
    assert flow.total_cost == pytest.approx(cost)
    assert script.sends == sends
    assert flow.deadline is None
    for previous, step in zip(flow.steps, flow.steps[1:], strict=False):
        assert step.role is Role.FAILOVER
        assert step.failover_from == previous.tracking_id


def test_digit_1_reproduces_the_seed_example() -> None:
    """Seed 5.1: Viber EXPIRED at 12:02, SMS failover from its token, total_cost 0.0468.

    The seed's JSON shows "Succeeded" next to a still "queued" SMS; its own status table says the
    flow stays InProgress until the failover step's outcome is known, which is what is checked.
    """
    script = play(VIBER_SMS, [START, VIBER_ACCEPTED, due(120, STEP_TTL), sms_accepted(120)])
    flow = script.flow
    viber_step, sms_step = flow.steps
    assert (viber_step.tracking_id, viber_step.role, viber_step.channel) == (
        VIBER_ID,
        Role.PRIMARY,
        Channel.VIBER,
    )
    assert (viber_step.status, viber_step.detailed_status) == (S.EXPIRED, "Expired")
    assert viber_step.price == VIBER_PRICE
    assert (sms_step.tracking_id, sms_step.role, sms_step.channel) == (
        SMS_ID,
        Role.FAILOVER,
        Channel.SMS,
    )
    assert sms_step.failover_from == VIBER_ID
    assert sms_step.created_at == T0 + timedelta(minutes=2)
    assert sms_step.to == viber_step.to == PHONE
    assert sms_step.status is S.QUEUED
    assert sms_step.price == SMS_PRICE
    assert flow.total_cost == 0.0468
    assert flow.status is IN_PROGRESS
    assert flow.deadline == Deadline(moment(120 + 300), STEP_TTL, 1)

    done = script.at(122, StatusReported(SMS_ID, S.DELIVERED))
    assert done.flow.status is SUCCEEDED
    assert done.flow.status_code is None
    assert done.flow.total_cost == 0.0468
    assert done.commands == (NotifyChange(),)


# =================================================================================================
# failoverOnDelivered and expireOnDelivery
# =================================================================================================


def test_failover_on_delivered_waits_ttl_after_delivery() -> None:
    script = play(FOD, [START, VIBER_ACCEPTED], time_scale=4.0)
    script.at(10, StatusReported(VIBER_ID, S.DELIVERED))
    assert script.flow.deadline == Deadline(moment(10 + 120 / 4), DELIVERED_WAIT, 0)
    assert script.flow.status is IN_PROGRESS
    assert script.at(39, DeadlineReached(DELIVERED_WAIT, 0)).commands == ()  # not yet
    decision = script.at(40, DeadlineReached(DELIVERED_WAIT, 0))
    viber_step, sms_step = decision.flow.steps
    assert viber_step.status is S.DELIVERED
    assert sms_step.failover_from == VIBER_ID
    assert sms_step.role is Role.FAILOVER
    # Only a SENDING step was added: the visible story is unchanged.
    assert decision.commands == (SendStep(1),)
    assert decision.flow.status is IN_PROGRESS


def test_failover_on_delivered_without_ttl_succeeds_at_delivery() -> None:
    plans = (viber(None, failover_on_delivered=True), sms())
    script = play(plans, [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED)])
    assert script.flow.status is SUCCEEDED
    assert len(script.flow.steps) == 1


def test_failover_on_delivered_on_the_last_step_succeeds_at_delivery() -> None:
    script = play((viber(failover_on_delivered=True),), [START, VIBER_ACCEPTED])
    script.at(1, StatusReported(VIBER_ID, S.DELIVERED))
    assert script.flow.status is SUCCEEDED
    assert script.flow.deadline is None


def test_failover_on_delivered_opens_only_one_failover() -> None:
    script = play(FOD, [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED), due(121, DELIVERED_WAIT)])
    again = script.at(122, DeadlineReached(DELIVERED_WAIT, 0))
    assert again.commands == ()
    assert len(again.flow.steps) == 2


def test_expire_on_delivery_leaves_a_queued_message_to_the_normal_ttl() -> None:
    plans = (viber(expire_on_delivery=True), sms())
    script = play(plans, [START, VIBER_ACCEPTED, due(120, STEP_TTL)])
    step = script.flow.steps[0]
    assert step.status is S.EXPIRED
    assert step.expired_on_delivery_at is None
    assert len(script.flow.steps) == 2


# =================================================================================================
# Send retries
# =================================================================================================


def test_an_unanswered_send_is_retried_then_counted_as_a_server_error() -> None:
    script = play(VIBER_SMS, [START])
    for attempt in range(2, MAX_SEND_ATTEMPTS + 1):
        decision = script.at(30 * (attempt - 1), DeadlineReached(SEND_RETRY, 0))
        assert decision.commands == (SendStep(0, retry=True),)
        assert decision.flow.steps[0].send_attempts == attempt
        assert decision.flow.steps[0].status is S.SENDING
    decision = script.at(30 * MAX_SEND_ATTEMPTS, DeadlineReached(SEND_RETRY, 0))
    first, second = decision.flow.steps
    assert first.status is S.FAILED
    assert first.reject_reason is RejectReason.SERVER_ERROR
    assert first.error_message == "the provider never answered the send"
    assert second.status is S.SENDING
    assert decision.commands == (SendStep(1), NotifyChange())


def test_a_late_answer_after_a_retry_is_taken() -> None:
    script = play(VIBER_SMS, [START, due(30, SEND_RETRY)])
    decision = script.at(31, SendAccepted(0, VIBER_ID))
    assert decision.flow.steps[0].status is S.QUEUED
    assert decision.flow.steps[0].send_attempts == 2
    assert decision.flow.deadline == Deadline(moment(31 + 120), STEP_TTL, 0)


# =================================================================================================
# Inputs that must change nothing
# =================================================================================================

NO_OPS = [
    pytest.param(VIBER_SMS, [START, VIBER_ACCEPTED], due(119, STEP_TTL), id="deadline-not-due"),
    pytest.param(
        VIBER_SMS, [START, VIBER_ACCEPTED], due(500, DELIVERED_WAIT), id="deadline-wrong-kind"
    ),
    pytest.param(
        VIBER_SMS, [START, VIBER_ACCEPTED], due(500, STEP_TTL, 1), id="deadline-wrong-step"
    ),
    pytest.param(VIBER_SMS, [START, VIBER_ACCEPTED], due(500, SEND_RETRY), id="retry-after-answer"),
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED)],
        due(500, STEP_TTL),
        id="deadline-after-terminal",
    ),
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, on_viber(1, S.UNDELIVERED)],
        due(500, STEP_TTL),
        id="ttl-of-an-earlier-step",
    ),
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED],
        (1, SendAccepted(0, "another-id", price=1.0)),
        id="duplicate-send-accepted",
    ),
    pytest.param(
        VIBER_SMS, [START, VIBER_ACCEPTED], (1, SendAccepted(1, SMS_ID)), id="accepted-unknown-step"
    ),
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED],
        refused(1, 0, RejectReason.SERVER_ERROR),
        id="rejected-after-accepted",
    ),
    pytest.param(
        VIBER_SMS, [START], refused(1, 3, RejectReason.SERVER_ERROR), id="rejected-unknown-step"
    ),
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED],
        (1, StatusReported("somebody-else", S.DELIVERED)),
        id="report-unknown-tracking-id",
    ),
    pytest.param(
        FOD,
        [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED)],
        on_viber(2, S.DELIVERED),
        id="duplicate-report",
    ),
    pytest.param(
        FOD,
        [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED)],
        on_viber(2, S.QUEUED),
        id="report-would-regress",
    ),
    pytest.param(
        FOD,
        [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED)],
        on_viber(2, S.EXPIRED),
        id="delivered-never-becomes-a-reported-failure",
    ),
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, on_viber(1, S.EXPIRED), sms_accepted(1)],
        on_viber(2, S.DELIVERED),
        id="report-after-final",
    ),
    pytest.param(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, on_viber(1, S.SEEN)],
        (2, Cancel("again")),
        id="cancel-after-terminal",
    ),
    pytest.param(VIBER_SMS, [START, VIBER_ACCEPTED], (2, Start()), id="start-again"),
]


@pytest.mark.parametrize(("plans", "setup", "event"), NO_OPS)
def test_inputs_that_change_nothing(
    plans: tuple[StepPlan, ...], setup: list[Timed], event: Timed
) -> None:
    flow = play(plans, setup).flow
    seconds, payload = event
    decision = decide(flow, payload, now=moment(seconds))
    assert decision.flow is flow
    assert decision.commands == ()


# =================================================================================================
# Terminal statuses are sticky
# =================================================================================================


def test_a_late_seen_after_success_updates_the_step_only() -> None:
    script = play(VIBER_SMS, [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED)])
    decision = script.at(3, StatusReported(VIBER_ID, S.SEEN))
    assert decision.flow.steps[0].status is S.SEEN
    assert decision.flow.status is SUCCEEDED
    assert decision.commands == (NotifyChange(),)


def test_a_late_dlr_after_sms_sent_fails_the_flow() -> None:
    # Issue 16: the seed's Succeeded holds while a step is in a success state; the SMS's final
    # Undelivered withdraws `Sent`, every step has failed and there is no next step.
    script = play(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, on_viber(1, S.FAILED), sms_accepted(1), on_sms(2, S.SENT)],
    )
    assert script.flow.status is SUCCEEDED
    decision = script.at(5, StatusReported(SMS_ID, S.UNDELIVERED))
    assert decision.flow.steps[1].status is S.UNDELIVERED
    assert (decision.flow.status, decision.flow.status_code) == (FAILED, StatusCode.NO_NEXT_STEP)
    assert decision.flow.error == STATUS_CODE_TEXT[StatusCode.NO_NEXT_STEP]
    assert decision.flow.deadline is None
    assert decision.commands == (NotifyChange(),)


def test_a_late_dlr_after_sms_sent_on_a_verified_flow_changes_nothing_but_the_step() -> None:
    script = play(
        (sms(),), [START, (0, SendAccepted(0, SMS_ID)), on_sms(1, S.SENT), (2, Cancel("code"))]
    )
    assert script.flow.cancelled
    decision = script.at(5, StatusReported(SMS_ID, S.UNDELIVERED))
    assert decision.flow.steps[0].status is S.UNDELIVERED
    assert (decision.flow.status, decision.flow.status_code) == (SUCCEEDED, None)
    assert decision.commands == (NotifyChange(),)


def test_a_failed_flow_stays_failed() -> None:
    script = play(
        VIBER_SMS,
        [START, VIBER_ACCEPTED, on_viber(1, S.FAILED), refused(1, 1, RejectReason.SERVER_ERROR)],
    )
    assert (script.flow.status, script.flow.status_code) == (FAILED, StatusCode.SERVER_ERROR)
    for event in (Cancel("late"), StatusReported(VIBER_ID, S.SEEN), Start()):
        decision = script.at(10, event)
        assert (decision.flow.status, decision.flow.status_code) == (
            FAILED,
            StatusCode.SERVER_ERROR,
        )
        assert decision.commands == ()


# =================================================================================================
# Change notifications
# =================================================================================================

NOTIFICATIONS = [
    pytest.param([], START, False, id="start-sending-is-not-visible"),
    pytest.param([START], VIBER_ACCEPTED, True, id="accepted"),
    pytest.param([START], due(30, SEND_RETRY), False, id="send-retry"),
    pytest.param([START, VIBER_ACCEPTED], on_viber(1, S.DELIVERED), True, id="status-change"),
    pytest.param(
        [START, (0, SendAccepted(0, VIBER_ID))],
        (1, StatusReported(VIBER_ID, S.QUEUED, price=VIBER_PRICE)),
        True,
        id="price-only",
    ),
    pytest.param([START, VIBER_ACCEPTED], on_viber(1, S.UNDELIVERED), True, id="failover"),
    pytest.param([START], refused(1, 0, RejectReason.SERVER_ERROR), True, id="refused"),
    pytest.param([START, VIBER_ACCEPTED], (1, Cancel("verified")), True, id="cancel"),
    pytest.param([START, VIBER_ACCEPTED], due(120, STEP_TTL), True, id="expired"),
]


@pytest.mark.parametrize(("setup", "event", "notified"), NOTIFICATIONS)
def test_notify_change_when_the_visible_story_changes(
    setup: list[Timed], event: Timed, notified: bool
) -> None:
    script = play(VIBER_SMS, setup)
    decision = script.at(*event)
    assert decision.commands.count(NotifyChange()) == (1 if notified else 0)
    if decision.commands:
        assert decision.flow.updated_at == moment(event[0])


# =================================================================================================
# Standard Failover outcome matrix (reference 3.5): Voice -> Viber -> SMS
# =================================================================================================

ANY_VOICE_FAILURE = frozenset({S.BUSY, S.NO_ANSWER, S.FAILED, S.UNSENT, S.TERMINATED})
VOICE_VIBER_SMS = (voice(failover_on=ANY_VOICE_FAILURE), viber(), sms())


def on_voice(at: float, status: StepStatus) -> Timed:
    return (at, StatusReported(VOICE_ID, status))


VOICE_ACCEPTED: Timed = (0, SendAccepted(0, VOICE_ID))
VIBER_2ND: Timed = (1, SendAccepted(1, VIBER_ID))
SMS_3RD: Timed = (2, SendAccepted(2, SMS_ID))

MATRIX = [
    pytest.param([on_voice(1, S.COMPLETED)], SUCCEEDED, None, 1, id="voice-completed"),
    *(
        pytest.param(
            [on_voice(1, failure), VIBER_2ND, on_viber(2, S.DELIVERED)],
            SUCCEEDED,
            None,
            2,
            id=f"voice-{failure}-viber-delivered",
        )
        for failure in sorted(ANY_VOICE_FAILURE)
    ),
    pytest.param(
        [
            on_voice(1, S.BUSY),
            VIBER_2ND,
            on_viber(2, S.UNDELIVERED),
            SMS_3RD,
            on_sms(3, S.DELIVERED),
        ],
        SUCCEEDED,
        None,
        3,
        id="viber-undelivered-sms-delivered",
    ),
    *(
        pytest.param(
            [on_voice(1, S.BUSY), VIBER_2ND, on_viber(2, S.UNDELIVERED), SMS_3RD, on_sms(3, last)],
            FAILED,
            StatusCode.NO_NEXT_STEP,
            3,
            id=f"sms-{last}",
        )
        for last in (S.UNDELIVERED, S.FAILED)
    ),
]


@pytest.mark.parametrize(("events", "status", "code", "count"), MATRIX)
def test_standard_failover_outcome_matrix(
    events: list[Timed], status: FlowStatus, code: StatusCode | None, count: int
) -> None:
    script = Script(make_flow(*VOICE_VIBER_SMS, kind=FlowKind.STANDARD))
    flow = script.play([START, VOICE_ACCEPTED, *events])
    assert (flow.status, flow.status_code) == (status, code)
    assert len(flow.steps) == count
    assert [s.failover_from for s in flow.steps] == [None, VOICE_ID, VIBER_ID][:count]


# =================================================================================================
# Fixed core bugs: each pinned by the test that found it
# =================================================================================================


def test_bug_cancelled_flow_never_sends_again() -> None:
    script = play(VIBER_SMS, [START, VIBER_ACCEPTED, (5, Cancel("code verified"))])
    decision = script.at(120, StatusReported(VIBER_ID, S.EXPIRED))
    assert not any(isinstance(c, SendStep) for c in decision.commands)
    assert len(decision.flow.steps) == 1


def test_sms_sent_then_undelivered_fails_over_to_the_next_step() -> None:
    # Was "a succeeded flow never opens a step": a flow that succeeded on `Sent` alone is derived
    # again when the final report fails (issue 16), exactly as if `Sent` had never come.
    script = play((sms(), viber()), [START, (0, SendAccepted(0, SMS_ID)), on_sms(1, S.SENT)])
    assert script.flow.status is SUCCEEDED
    decision = script.at(2, StatusReported(SMS_ID, S.UNDELIVERED))
    assert decision.commands == (SendStep(1), NotifyChange())
    assert decision.flow.status is IN_PROGRESS
    assert decision.flow.steps[1].failover_from == SMS_ID
    assert decision.flow.deadline == Deadline(moment(2) + SEND_ANSWER_TIMEOUT, SEND_RETRY, 1)


def test_a_flow_delivered_elsewhere_never_opens_a_step_on_a_late_failure() -> None:
    plans = (viber(failover_on_delivered=True), sms(), voice())
    script = play(
        plans,
        [
            START,
            VIBER_ACCEPTED,
            on_viber(1, S.DELIVERED),
            (121, DeadlineReached(DELIVERED_WAIT, 0)),
            sms_accepted(121),
            on_sms(122, S.SENT),
        ],
    )
    assert script.flow.status is SUCCEEDED
    decision = script.at(130, StatusReported(SMS_ID, S.UNDELIVERED))
    assert decision.flow.status is SUCCEEDED  # the Viber step did deliver
    assert not any(isinstance(c, SendStep) for c in decision.commands)
    assert len(decision.flow.steps) == 2


def test_bug_expire_on_delivery_turns_an_unseen_delivery_into_expired() -> None:
    plans = (viber(expire_on_delivery=True), sms())
    script = play(plans, [START, VIBER_ACCEPTED, on_viber(1, S.DELIVERED)])
    assert script.flow.status is IN_PROGRESS
    decision = script.at(120, DeadlineReached(STEP_TTL, 0))
    viber_step, sms_step = decision.flow.steps
    assert viber_step.status is S.EXPIRED
    assert viber_step.expired_on_delivery_at == moment(120)
    assert sms_step.failover_from == VIBER_ID
    assert decision.commands[0] == SendStep(1)


def test_bug_queued_report_on_a_sending_step_keeps_the_flow_alive() -> None:
    script = play(VIBER_SMS, [START])
    script.at(1, StatusReported(step_tracking_id(FLOW_ID, 0), S.QUEUED))
    assert script.flow.status is IN_PROGRESS
    assert script.flow.deadline is not None


def test_bug_queued_report_then_send_retry_keeps_the_flow_alive() -> None:
    # Found by the property test's liveness check: reports on a SENDING step's placeholder id
    # are now ignored, so the send-retry deadline and the late answer still work.
    placeholder = step_tracking_id(FLOW_ID, 0)
    script = play(VIBER_SMS, [START, (1, StatusReported(placeholder, S.QUEUED))])
    assert script.flow.deadline == Deadline(T0 + SEND_ANSWER_TIMEOUT, SEND_RETRY, 0)
    script.at(30, DeadlineReached(SEND_RETRY, 0))
    script.at(31, SendAccepted(0, VIBER_ID))
    assert script.flow.status.is_terminal or script.flow.deadline is not None


def test_bug_send_accepted_with_a_failure_status_fails_over() -> None:
    script = play(VIBER_SMS, [START, (0, SendAccepted(0, VIBER_ID, status=S.FAILED))])
    assert len(script.flow.steps) == 2
    assert script.sends == [SendStep(0), SendStep(1)]


def test_flow_plans_are_untouched_by_decisions() -> None:
    flow = make_flow()
    script = Script(flow)
    script.play([START, VIBER_ACCEPTED, on_viber(1, S.UNDELIVERED), sms_accepted(1)])
    assert script.flow.plans == flow.plans
    assert script.flow.id == flow.id
    assert replace(script.flow, steps=(), deadline=None, updated_at=flow.updated_at) == flow


def test_a_voice_report_records_who_answered_and_for_how_long() -> None:
    script = play((voice(), sms()), [START, VOICE_ACCEPTED])
    answered = StatusReported(VOICE_ID, S.COMPLETED, answered_by="machine", call_seconds=14)
    decision = script.at(5, answered)
    call = decision.flow.steps[0]
    assert (call.answered_by, call.call_seconds) == ("machine", 14)
    assert decision.commands == (NotifyChange(),)
    # A later report that does not repeat them (a duplicate, a look-up) keeps them.
    again = script.at(6, StatusReported(VOICE_ID, S.COMPLETED))
    assert (again.flow.steps[0].answered_by, again.flow.steps[0].call_seconds) == ("machine", 14)
    assert again.commands == ()
