"""Reading Routee's answers and callbacks, in every shape and casing the reference shows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.providers.base import DeliveryReport, SendReceipt
from failover_otp.providers.routee import wire
from failover_otp.providers.routee.wire import MalformedBody, parse_callback

SMS_CALLBACK: dict[str, Any] = {
    "messageId": "m-1",
    "smsId": "s-1",
    "part": 1,
    "parts": 1,
    "to": "+306912345670",
    "status": {
        "name": "Delivered",
        "reason": {"detailedStatus": "Delivered", "description": "ok"},
        "updatedDate": "2019-07-05T10:28:49Z",
    },
    "price": 0.0375,
    "originatingService": "Sms",
}
VIBER_CALLBACK: dict[str, Any] = {
    "trackingId": "v-1",
    "to": "+306912345670",
    "status": {
        "name": "DELIVERED",
        "reason": {"detailedStatus": "Delivered"},
        "updatedDate": "2019-07-05T10:28:44.996Z",
    },
    "price": 0.0093,
    "originatingService": "Viber",
}


def body(payload: Any) -> bytes:
    return orjson.dumps(payload)


def test_sms_callback() -> None:
    assert parse_callback(body(SMS_CALLBACK)) == [
        DeliveryReport(
            "m-1",
            StepStatus.DELIVERED,
            "Delivered",
            0.0375,
            datetime(2019, 7, 5, 10, 28, 49, tzinfo=UTC),
        )
    ]


def test_viber_callback() -> None:
    [report] = parse_callback(body(VIBER_CALLBACK))

    assert (report.message_id, report.status, report.price) == ("v-1", StepStatus.DELIVERED, 0.0093)
    assert report.at == datetime(2019, 7, 5, 10, 28, 44, 996000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("Delivered", StepStatus.DELIVERED),
        ("DELIVERED", StepStatus.DELIVERED),
        ("delivered", StepStatus.DELIVERED),
        ("Undelivered", StepStatus.UNDELIVERED),
        ("queued", StepStatus.QUEUED),
        ("Sent", StepStatus.SENT),
        ("SEEN", StepStatus.SEEN),
        ("Expired", StepStatus.EXPIRED),
        ("Unsent", StepStatus.UNSENT),
        ("Failed", StepStatus.FAILED),
    ],
)
def test_status_wording_in_any_casing(name: str, status: StepStatus) -> None:
    payload = {**SMS_CALLBACK, "status": {**SMS_CALLBACK["status"], "name": name}}

    assert [r.status for r in parse_callback(body(payload))] == [status]


@pytest.mark.parametrize(
    "status_field",
    [
        {"status": "Delivered", "date": "2015-11-11T17:07:04Z"},  # tracking spelling
        {"name": "Delivered"},
        "Delivered",  # bare string
    ],
)
def test_status_field_shapes(status_field: Any) -> None:
    [report] = parse_callback(body({"messageId": "m", "status": status_field}))

    assert report.status is StepStatus.DELIVERED


def test_array_and_failover_shapes_carry_several_reports() -> None:
    failover = {
        "trackingId": "flow",
        "status": "Succeeded",
        "messages": [VIBER_CALLBACK, {**SMS_CALLBACK, "status": {"name": "Sent"}}],
    }

    assert [r.message_id for r in parse_callback(body([SMS_CALLBACK, VIBER_CALLBACK]))] == [
        "m-1",
        "v-1",
    ]
    assert [(r.message_id, r.status) for r in parse_callback(body(failover))] == [
        ("v-1", StepStatus.DELIVERED),
        ("m-1", StepStatus.SENT),
    ]


def test_unusable_objects_are_skipped() -> None:
    payload = [
        {"messageId": "m", "status": {"name": "Network Error"}},
        {"status": {"name": "Delivered"}},
        {"messageId": "m"},
        "text",
        SMS_CALLBACK,
    ]

    assert [r.message_id for r in parse_callback(body(payload))] == ["m-1"]


@pytest.mark.parametrize("raw", [b"", b"not json", b'{"messageId": ', b'"a string"', b"42"])
def test_malformed_callback_raises(raw: bytes) -> None:
    with pytest.raises(MalformedBody):
        parse_callback(raw)


def test_part_callback_price_covers_the_whole_message() -> None:
    """Routee prices each part; the report prices the message."""
    [report] = parse_callback(body({**SMS_CALLBACK, "parts": 3, "price": 0.0375}))

    assert report.price == pytest.approx(0.1125)


@pytest.mark.parametrize(
    ("statuses", "combined"),
    [
        ([StepStatus.DELIVERED], StepStatus.DELIVERED),
        ([StepStatus.DELIVERED, StepStatus.SENT], StepStatus.SENT),
        ([StepStatus.QUEUED, StepStatus.DELIVERED], StepStatus.QUEUED),
        ([StepStatus.DELIVERED, StepStatus.UNDELIVERED], StepStatus.UNDELIVERED),
        ([StepStatus.FAILED, StepStatus.QUEUED], StepStatus.FAILED),
        ([], StepStatus.QUEUED),
    ],
)
def test_combine_parts(statuses: list[StepStatus], combined: StepStatus) -> None:
    assert wire.combine_parts(statuses) is combined


def tracking_part(
    part: int, status: str, price: Any = 0.0375, date: str = "2020-01-01T00:00:00Z"
) -> dict[str, Any]:
    return {
        "messageId": "m",
        "smsId": f"s{part}",
        "part": part,
        "parts": 2,
        "price": price,
        "status": {"status": status, "date": date, "reason": {"detailedStatus": status}},
    }


def test_sms_tracking_combines_parts() -> None:
    payload = [
        tracking_part(1, "Delivered", date="2020-01-01T00:00:02Z"),
        tracking_part(2, "Sent", date="2020-01-01T00:00:01Z"),
    ]

    report = wire.report_from_sms_tracking("m", payload)

    assert report == DeliveryReport(
        "m", StepStatus.SENT, "Sent", 0.075, datetime(2020, 1, 1, 0, 0, 2, tzinfo=UTC)
    )


def test_sms_tracking_without_every_price_has_no_price() -> None:
    report = wire.report_from_sms_tracking("m", [tracking_part(1, "Queued", price=None)])

    assert report is not None
    assert report.price is None


@pytest.mark.parametrize("payload", [[], {}, "x", [{"status": "Weird"}]])
def test_sms_tracking_unreadable(payload: Any) -> None:
    assert wire.report_from_sms_tracking("m", payload) is None


def test_read_receipt_sms_and_viber() -> None:
    sms = {"trackingId": "t", "status": "Queued", "bodyAnalysis": {"parts": 2}}
    viber = {"trackingId": "v", "status": {"status": "QUEUED"}, "country": "GR"}

    assert wire.read_receipt(Channel.SMS, sms) == SendReceipt("t", StepStatus.QUEUED, parts=2)
    assert wire.read_receipt(Channel.VIBER, viber) == SendReceipt("v", country="GR")


@pytest.mark.parametrize("payload", [None, [], {}, {"trackingId": ""}, {"trackingId": 5}])
def test_read_receipt_needs_a_tracking_id(payload: Any) -> None:
    with pytest.raises(MalformedBody):
        wire.read_receipt(Channel.SMS, payload)


def search_item(**fields: Any) -> dict[str, Any]:
    item = {"messageId": "m", "to": "306912345670", "body": "code 1", "label": "login"}
    return item | fields


@pytest.mark.parametrize(
    ("item", "found"),
    [
        (search_item(), True),
        (search_item(to="+306912345670"), True),  # with or without the plus
        (search_item(label=None), True),
        (search_item(body="code 2"), False),
        (search_item(to="306912345679"), False),
        (search_item(label="other"), False),
        (search_item(messageId=None), False),
    ],
)
def test_match_sms(item: dict[str, Any], found: bool) -> None:
    page = {"content": [item], "last": True}

    match = wire.match_sms(page, to="306912345670", body="code 1", label="login")

    assert (match is not None) is found


def test_receipt_from_search_and_paging() -> None:
    item = search_item(parts=2, country="GR", status={"status": "Delivered"})

    assert wire.receipt_from_search(item) == SendReceipt(
        "m", StepStatus.DELIVERED, parts=2, country="GR"
    )
    priced = search_item(parts=2, price=0.0375, status={"status": "Queued"})
    assert wire.receipt_from_search(priced).price == pytest.approx(0.075)
    assert wire.is_last_page({"last": True})
    assert not wire.is_last_page({"last": False})
    assert wire.is_last_page([])


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2019-07-05T10:28:44.996Z", datetime(2019, 7, 5, 10, 28, 44, 996000, tzinfo=UTC)),
        ("2019-07-05T10:28:44", datetime(2019, 7, 5, 10, 28, 44, tzinfo=UTC)),
        ("2019-07-05T12:28:44+02:00", datetime(2019, 7, 5, 10, 28, 44, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_parse_time(text: str | None, moment: datetime | None) -> None:
    assert wire.parse_time(text) == moment


def test_routee_time() -> None:
    assert wire.routee_time(datetime(2015, 11, 11, 15, 0, tzinfo=UTC)) == "2015-11-11T15:00:00Z"
