"""What a Routee answer or report may carry into the store is bounded (issue 15.3): numbers that
are numbers, text as wide as its column, part counts an SMS can have."""

from __future__ import annotations

from failover_otp.domain.statuses import Channel
from failover_otp.providers.routee.wire import (
    COUNTRY_MAX,
    DETAILED_STATUS_MAX,
    OPERATOR_MAX,
    read_receipt,
    report_from_object,
)


def test_a_report_keeps_its_status_whatever_else_it_carries() -> None:
    report = report_from_object(
        {
            "messageId": "m-1",
            "status": {"name": "Delivered", "reason": {"detailedStatus": "x" * 10_000}},
            "price": 0.0375,
            "parts": 10**20,
        }
    )
    assert report is not None
    assert report.detailed_status == "x" * DETAILED_STATUS_MAX
    assert report.price == 0.0375  # not multiplied by an impossible part count


def test_absurd_prices_are_unknown_prices() -> None:
    for price in (10**30, "1e999", "nan", float("inf"), -(10**9), True, [1]):
        report = report_from_object({"messageId": "m", "status": "Delivered", "price": price})
        assert report is not None
        assert report.price is None, price
    report = report_from_object({"messageId": "m", "status": "Delivered", "price": "0.0093"})
    assert report is not None
    assert report.price == 0.0093


def test_a_send_answer_is_cut_to_the_columns() -> None:
    receipt = read_receipt(
        Channel.SMS,
        {
            "trackingId": "t-1",
            "country": "Greece, Hellenic Republic",
            "operator": "o" * 500,
            "bodyAnalysis": {"parts": 10**6},
        },
    )
    assert receipt.country is not None
    assert len(receipt.country) == COUNTRY_MAX
    assert receipt.operator == "o" * OPERATOR_MAX
    assert receipt.parts == 1
