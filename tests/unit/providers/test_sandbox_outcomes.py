"""The sandbox's outcome table and report orders (pure)."""

from __future__ import annotations

import pytest

from failover_otp.domain.statuses import Channel, Outcome, StepStatus
from failover_otp.providers.sandbox.outcomes import (
    LATE_BY,
    ReportOrder,
    outcome_for,
    push_schedule,
    report_order,
)

SENT, DELIVERED, UNDELIVERED = StepStatus.SENT, StepStatus.DELIVERED, StepStatus.UNDELIVERED


@pytest.mark.parametrize("digit", range(10))
def test_an_sms_is_reported_sent_before_a_network_verdict(digit: int) -> None:
    """Routee reports ``Sent`` (handed to the network) before Delivered/Undelivered; a message
    it could not process (Failed) or refused never was."""
    reports = outcome_for(Channel.SMS, f"30691234567{digit}").reports
    statuses = [r.status for r in reports]
    if statuses and statuses[-1] in (DELIVERED, UNDELIVERED):
        assert statuses == [SENT, statuses[-1]]
        assert reports[0].after < reports[1].after
        assert reports[0].detailed_status == "Sent"
    else:
        assert SENT not in statuses


@pytest.mark.parametrize("digit", range(10))
def test_the_contracts_final_statuses_are_unchanged(digit: int) -> None:
    """Only intermediate reports were added: each row still ends where the contract says."""
    final_sms = {3: UNDELIVERED, 5: StepStatus.FAILED, 8: None}.get(digit, DELIVERED)
    sms = outcome_for(Channel.SMS, f"+30691234567{digit}").reports
    assert (sms[-1].status if sms else None) is final_sms
    viber = outcome_for(Channel.VIBER, f"30691234567{digit}").reports
    assert SENT not in [r.status for r in viber]  # not in Routee's Viber vocabulary


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ("Your code is 123456", ReportOrder.IN_ORDER),
        ("Your code is 123456 [sandbox:reversed]", ReportOrder.REVERSED),
        ("[sandbox:duplicated] code", ReportOrder.DUPLICATED),
        ("code [sandbox:late]", ReportOrder.LATE),
        ("code [sandbox:sideways]", ReportOrder.IN_ORDER),
        ("code [sandbox:sideways] [sandbox:late]", ReportOrder.LATE),
        ("code [SANDBOX:late]", ReportOrder.IN_ORDER),
    ],
)
def test_report_order_markers(text: str, order: ReportOrder) -> None:
    assert report_order(text) is order


def test_push_schedules_of_sent_then_undelivered() -> None:
    outcome = outcome_for(Channel.SMS, "306912345673")
    sent, undelivered = outcome.reports

    assert push_schedule(outcome, ReportOrder.IN_ORDER, 60) == [(1, (sent,)), (2, (undelivered,))]
    assert push_schedule(outcome, ReportOrder.REVERSED, 60) == [(2, (undelivered, sent))]
    assert push_schedule(outcome, ReportOrder.DUPLICATED, 60) == [
        (1, (sent, sent)),
        (2, (undelivered, undelivered)),
    ]
    assert push_schedule(outcome, ReportOrder.LATE, 60) == [(60 + LATE_BY, (sent, undelivered))]
    assert push_schedule(outcome, ReportOrder.LATE, None) == [(2 + LATE_BY, (sent, undelivered))]


def test_a_report_at_the_ttl_is_pushed_late_after_it() -> None:
    expiring = outcome_for(Channel.VIBER, "306912345671")
    assert push_schedule(expiring, ReportOrder.LATE, 120) == [(120 + LATE_BY, expiring.reports)]
    refused = outcome_for(Channel.VIBER, "306912345679")
    assert push_schedule(refused, ReportOrder.REVERSED, 120) == []


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.VIBER])
@pytest.mark.parametrize("digit", range(10))
def test_intermediate_reports_are_never_failures(channel: Channel, digit: int) -> None:
    reports = outcome_for(channel, f"30691234567{digit}").reports
    assert all(r.status.outcome is not Outcome.FAILURE for r in reports[:-1])
    assert all(r.status.outcome is not Outcome.PENDING for r in reports[-1:])
