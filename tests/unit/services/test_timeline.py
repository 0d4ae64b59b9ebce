"""The flow page's timeline (issue 17, item 5): ordered by cause, with the code's checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from failover_otp.domain.flow import Flow, FlowKind, Role, Step, StepPlan
from failover_otp.domain.stats import CodeChecks
from failover_otp.domain.statuses import (
    DEFAULT_FAILOVER_ON,
    Channel,
    FlowStatus,
    RejectReason,
    StatusCode,
    StepStatus,
)
from failover_otp.services.timeline import flow_timeline

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
V, M = Channel.VIBER, Channel.SMS


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _flow(steps: tuple[Step, ...], status: FlowStatus, ended: float, **more: object) -> Flow:
    return Flow(
        id="f-1",
        application_id="app",
        kind=FlowKind.OTP,
        plans=tuple(
            StepPlan(s.channel, "306912345678", 60.0, DEFAULT_FAILOVER_ON[s.channel]) for s in steps
        ),
        created_at=T0,
        updated_at=_at(ended),
        status=status,
        steps=steps,
        **more,  # type: ignore[arg-type]
    )


def _titles(flow: Flow, checks: CodeChecks | None = None) -> list[str]:
    return [e.title for e in flow_timeline(flow, time_scale=1.0, currency="EUR", checks=checks)]


def test_an_insufficient_balance_refusal_comes_after_the_failure_and_failover_it_followed() -> None:
    # Viber UNDELIVERED, the SMS failover and its refusal all happen at one instant (t = 2 s).
    viber = Step(
        0,
        "t-0",
        Role.PRIMARY,
        V,
        "306912345678",
        StepStatus.UNDELIVERED,
        T0,
        _at(2),
        detailed_status="Undelivered",
        sent_at=_at(0.1),
        price=0.0093,
    )
    sms = Step(
        1,
        "t-1",
        Role.FAILOVER,
        M,
        "306912345678",
        StepStatus.UNSENT,
        _at(2),
        _at(2),
        detailed_status="Insufficient balance",
        error_message="Not enough balance",
        reject_reason=RejectReason.INSUFFICIENT_BALANCE,
    )
    flow = _flow((viber, sms), FlowStatus.FAILED, 2, status_code=StatusCode.INSUFFICIENT_BALANCE)
    assert _titles(flow) == [
        "Flow created",
        "Viber sent",
        "Viber UNDELIVERED",
        "Failover to SMS",
        "SMS refused (Unsent)",
        "Flow Failed",
    ]


def test_a_refusal_stored_before_the_failure_that_caused_it_is_still_drawn_after_it() -> None:
    # A later write bumped the Viber step's time past its effect: causes still come first.
    viber = Step(
        0,
        "t-0",
        Role.PRIMARY,
        V,
        "306912345678",
        StepStatus.UNDELIVERED,
        T0,
        _at(3),
        sent_at=_at(0.1),
    )
    sms = Step(
        1,
        "t-1",
        Role.FAILOVER,
        M,
        "306912345678",
        StepStatus.FAILED,
        _at(2),
        _at(2),
        error_message="refused",
    )
    titles = _titles(_flow((viber, sms), FlowStatus.FAILED, 3))
    assert titles.index("Viber UNDELIVERED") < titles.index("Failover to SMS")
    assert titles.index("Failover to SMS") < titles.index("SMS refused (Failed)")


def test_a_late_viber_delivery_after_the_failover_stays_in_time_order() -> None:
    viber = Step(
        0,
        "t-0",
        Role.PRIMARY,
        V,
        "306912345678",
        StepStatus.DELIVERED,
        T0,
        _at(30),
        sent_at=_at(0.1),
        delivered_at=_at(30),
    )
    sms = Step(
        1,
        "t-1",
        Role.FAILOVER,
        M,
        "306912345678",
        StepStatus.DELIVERED,
        _at(10),
        _at(12),
        sent_at=_at(10.1),
        delivered_at=_at(12),
    )
    titles = _titles(_flow((viber, sms), FlowStatus.SUCCEEDED, 30))
    assert titles == [
        "Flow created",
        "Viber sent",
        "Failover to SMS",
        "SMS sent",
        "SMS delivered",
        "Viber delivered",
        "Flow Succeeded",
    ]


def test_code_checks_appear_wrong_code_then_approved_after_the_send() -> None:
    sms = Step(
        0,
        "t-0",
        Role.PRIMARY,
        M,
        "306912345678",
        StepStatus.DELIVERED,
        T0,
        _at(2),
        sent_at=_at(0.1),
        delivered_at=_at(2),
        price=0.0375,
    )
    # Delivered (Succeeded) at 2 s; a wrong code, then the right one at 40 s.
    flow = _flow((sms,), FlowStatus.SUCCEEDED, 2)
    events = flow_timeline(flow, currency="EUR", checks=CodeChecks(2, _at(40)))
    assert [e.title for e in events] == [
        "Flow created",
        "SMS sent",
        "SMS delivered",
        "Flow Succeeded",
        "1 wrong code entered",
        "Code verified",
    ]
    assert events[1].detail == "price 0.0375 EUR"
    assert events[-1].detail == "approved (attempt 2)"
    assert events[-1].offset_ms == 40_000
    # Only wrong codes (never approved): they follow the send.
    unverified = _titles(flow, CodeChecks(3, None))
    assert "3 wrong codes entered" in unverified
    assert "Code verified" not in unverified
