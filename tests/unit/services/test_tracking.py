"""The §3.3 tracking object: per-type message shapes, SMS parts, Queued, originatingService."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from failover_otp.domain.flow import Flow, FlowKind, Role, Step, StepPlan
from failover_otp.domain.records import FlowMeta, FlowRecord
from failover_otp.domain.statuses import (
    DEFAULT_FAILOVER_ON,
    Channel,
    FlowStatus,
    RejectReason,
    StatusCode,
    StepStatus,
)
from failover_otp.services.tracking import display_status, tracking, webhook_payload

T0 = datetime(2026, 2, 16, 12, 0, tzinfo=UTC)
PHONE = "306912345671"
LONG_BODY = "x" * 400  # GSM-7: three parts of 153


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


REQUEST: list[dict[str, Any]] = [
    {
        "type": "Viber",
        "order": 1,
        "to": "+" + PHONE,
        "senderInfoTrackingId": "Routeetest",
        "text": "Hi",
        "imageUrl": "https://example.com/a.png",
        "action": {"caption": "Go", "targetUrl": "https://example.com/"},
        "viberFile": {"fileName": "a.pdf", "fileType": "pdf", "fileUrl": "https://e.com/a"},
        "label": "promo",
        "inboundUrl": "https://example.com/in",
        "ttl": 0.5,
        "expireOnDelivery": True,
    },
    {
        "type": "Sms",
        "order": 2,
        "to": PHONE,
        "from": "Routee",
        "message": {"body": LONG_BODY},
        "label": "sms-label",
        "ttl": 15,
    },
    {
        "type": "Voice",
        "order": 3,
        "to": {"phone": PHONE},
        "from": "+306900000000",
        "dialPlan": {"verbs": []},
    },
]

PLANS = (
    StepPlan(Channel.VIBER, PHONE, 30.0, DEFAULT_FAILOVER_ON[Channel.VIBER], False, True),
    StepPlan(Channel.SMS, PHONE, 900.0, DEFAULT_FAILOVER_ON[Channel.SMS]),
    StepPlan(Channel.VOICE, PHONE, 300.0, DEFAULT_FAILOVER_ON[Channel.VOICE]),
)

STEPS = (
    Step(
        index=0,
        tracking_id="viber-1",
        role=Role.PRIMARY,
        channel=Channel.VIBER,
        to=PHONE,
        status=StepStatus.EXPIRED,
        created_at=at(0),
        updated_at=at(30),
        detailed_status="Expired",
        sent_at=at(0.2),
        delivered_at=at(1),
        expired_on_delivery_at=at(30),
        price=0.0093,
        country="GR",
    ),
    Step(
        index=1,
        tracking_id="sms-1",
        role=Role.FAILOVER,
        channel=Channel.SMS,
        to=PHONE,
        status=StepStatus.UNDELIVERED,
        created_at=at(30),
        updated_at=at(33),
        sent_at=at(30.5),
        price=0.1125,
        parts=3,
        country="GR",
        operator="Vodafone",
    ),
    Step(
        index=2,
        tracking_id="voice-1",
        role=Role.FAILOVER,
        channel=Channel.VOICE,
        to=PHONE,
        status=StepStatus.BUSY,
        created_at=at(33),
        updated_at=at(34),
        sent_at=at(33.1),
        price=0.042,
        country="GR",
    ),
)

FLOW = Flow(
    id="30830fad-21ed-49b0-89d0-bbada2fd5640",
    application_id="app-1",
    kind=FlowKind.STANDARD,
    plans=PLANS,
    created_at=T0,
    updated_at=at(34),
    status=FlowStatus.FAILED,
    status_code=StatusCode.NO_NEXT_STEP,
    steps=STEPS,
)
META = FlowMeta(request=REQUEST, phone=PHONE)


def test_root() -> None:
    body = tracking(FLOW, META, 1.0)
    assert {k: v for k, v in body.items() if k != "messages"} == {
        "trackingId": FLOW.id,
        "terminationChannel": "Voice",
        "status": "Failed",
        "statusCode": 2,
        "totalPrice": round(0.0093 + 0.1125 + 0.042, 6),
        "originatingService": "Failover",
        "applicationId": "app-1",
        "createdAt": "2026-02-16T12:00:00.000Z",
        "updatedAt": "2026-02-16T12:00:34.000Z",
    }
    assert [m["type"] for m in body["messages"]] == ["Viber", "Sms", "Sms", "Sms", "Voice"]
    assert [m["order"] for m in body["messages"]] == [1, 2, 2, 2, 3]


def test_viber_message() -> None:
    viber = tracking(FLOW, META, 1.0)["messages"][0]
    assert viber == {
        "type": "Viber",
        "order": 1,
        "failoverOnStatuses": ["EXPIRED", "FAILED", "UNDELIVERED"],
        "createdAt": "2026-02-16T12:00:00.000Z",
        "trackingId": "viber-1",
        "from": "Routeetest",
        "to": "+306912345671",
        "country": "GR",
        "body": {
            "text": "Hi",
            "imageUrl": "https://example.com/a.png",
            "action": {"caption": "Go", "targetUrl": "https://example.com/"},
            "viberFile": REQUEST[0]["viberFile"],
        },
        "status": {
            "name": "EXPIRED",
            "reason": {
                "detailedStatus": "Expired",
                "description": "The message was not delivered within its ttl",
            },
            "updatedDate": "2026-02-16T12:00:30.000Z",
        },
        "expireOnDelivery": True,
        "expiredOnDeliveryAt": "2026-02-16T12:00:30.000Z",
        "price": 0.0093,
        "label": "promo",
        "inboundUrl": "https://example.com/in",
        "ttl": 0.5,
    }


def test_sms_parts() -> None:
    parts = tracking(FLOW, META, 1.0)["messages"][1:4]
    assert [p["part"] for p in parts] == [1, 2, 3]
    assert {p["parts"] for p in parts} == {3}
    assert {p["messageId"] for p in parts} == {"sms-1"}
    assert len({p["smsId"] for p in parts}) == 3
    assert "sms-1" not in {p["smsId"] for p in parts}
    assert {p["price"] for p in parts} == {0.0375}
    first = parts[0]
    assert first["from"] == "Routee"
    assert first["to"] == "+306912345671"
    assert first["body"] == LONG_BODY
    assert first["operator"] == "Vodafone"
    assert first["ttl"] == 15
    assert first["label"] == "sms-label"
    assert first["latency"] is None  # never delivered
    assert first["status"]["name"] == "Undelivered"
    assert first["failoverOnStatuses"] == ["Failed", "Undelivered"]
    # The ids are stable from one rendering to the next.
    again = tracking(FLOW, META, 1.0)["messages"][1:4]
    assert [p["smsId"] for p in again] == [p["smsId"] for p in parts]


def test_voice_message() -> None:
    call = tracking(FLOW, META, 1.0)["messages"][4]
    assert call == {
        "type": "Voice",
        "order": 3,
        "failoverOnStatuses": ["Busy", "NoAnswer"],
        "createdAt": "2026-02-16T12:00:33.000Z",
        "messageId": "voice-1",
        "from": "+306900000000",
        "to": "+306912345671",
        "country": "GR",
        "status": {
            "name": "Busy",
            "reason": {"detailedStatus": "Busy", "description": "The line was busy"},
            "updatedDate": "2026-02-16T12:00:34.000Z",
        },
        "duration": 0,
        "price": 0.042,
        "answeredBy": None,
    }


def test_latency_is_reported_in_flow_time() -> None:
    delivered = replace(
        STEPS[1], status=StepStatus.DELIVERED, parts=1, price=0.0375, delivered_at=at(31.5)
    )
    flow = replace(FLOW, steps=(STEPS[0], delivered), status=FlowStatus.SUCCEEDED)
    (sms,) = tracking(flow, META, 60.0)["messages"][1:]
    assert sms["latency"] == 60_000
    assert sms["parts"] == 1


def test_refused_sms_counts_its_parts_from_the_body() -> None:
    refused = replace(
        STEPS[1],
        status=StepStatus.UNSENT,
        sent_at=None,
        price=None,
        parts=1,
        reject_reason=RejectReason.INSUFFICIENT_BALANCE,
        error_message="Not enough balance (400001009)",
    )
    flow = replace(FLOW, steps=(STEPS[0], refused), status_code=StatusCode.INSUFFICIENT_BALANCE)
    parts = tracking(flow, META, 1.0)["messages"][1:]
    assert len(parts) == 3
    assert {p["price"] for p in parts} == {None}
    assert parts[0]["status"]["name"] == "Unsent"
    assert parts[0]["status"]["reason"]["description"] == "Not enough balance (400001009)"


def test_queued_until_a_step_is_answered() -> None:
    sending = replace(STEPS[0], status=StepStatus.SENDING, sent_at=None, price=None)
    flow = replace(
        FLOW, steps=(sending,), status=FlowStatus.IN_PROGRESS, status_code=None, updated_at=T0
    )
    assert display_status(flow) == "Queued"
    body = tracking(flow, META, 1.0)
    assert body["status"] == "Queued"
    assert body["terminationChannel"] is None
    assert body["statusCode"] is None
    assert body["messages"][0]["status"]["name"] == "QUEUED"
    queued = replace(sending, status=StepStatus.QUEUED)
    assert display_status(replace(flow, steps=(queued,))) == "InProgress"
    assert display_status(replace(flow, steps=())) == "Queued"


def test_otp_flows_render_too() -> None:
    otp_request = [
        {"type": "ViberOtp", "order": 1, "ttl": 120, "senderInfoTrackingId": "s", "pin": "1234"},
        {"type": "Sms", "order": 2, "ttl": 300, "from": "Brand", "message": {"body": "1234"}},
    ]
    plans = (
        StepPlan(Channel.VIBER, PHONE, 120.0, DEFAULT_FAILOVER_ON[Channel.VIBER]),
        StepPlan(Channel.SMS, PHONE, 90.0, DEFAULT_FAILOVER_ON[Channel.SMS]),
    )
    sms = replace(STEPS[1], parts=1, price=0.0375, status=StepStatus.DELIVERED)
    flow = replace(
        FLOW, kind=FlowKind.OTP, plans=plans, steps=(STEPS[0], sms), status=FlowStatus.SUCCEEDED
    )
    body = tracking(flow, FlowMeta(request=otp_request, phone=PHONE, label="login"), 1.0)
    assert body["originatingService"] == "FailoverOtp"
    assert body["terminationChannel"] == "Sms"
    viber, text = body["messages"]
    assert viber["ttl"] == 2
    assert viber["label"] == "login"
    assert viber["body"] == {"text": None, "imageUrl": None, "action": None}
    assert text["ttl"] == 2  # SMS ttl is whole minutes (1-1440): 90 s shows as 2


def test_webhook_payload_follows_the_strategy() -> None:
    running = replace(FLOW, status=FlowStatus.IN_PROGRESS, status_code=None)
    on_completion = replace(META, callback_url="https://e.com", callback_strategy="OnCompletion")
    on_change = replace(META, callback_url="https://e.com", callback_strategy="OnChange")
    assert webhook_payload(FlowRecord(running, on_completion), 1.0) is None
    assert webhook_payload(FlowRecord(FLOW, on_completion), 1.0) == tracking(FLOW, META, 1.0)
    assert webhook_payload(FlowRecord(running, on_change), 1.0) is not None


def test_on_completion_waits_for_the_sms_verdict_after_sent() -> None:
    """A flow Succeeded on an SMS ``Sent`` may still end Failed: its completion is the SMS's
    final report, so ``OnCompletion`` is told once, then."""
    on_completion = replace(META, callback_url="https://e.com", callback_strategy="OnCompletion")
    viber, sms = replace(STEPS[0], status=StepStatus.UNDELIVERED), STEPS[1]
    sent = replace(
        FLOW,
        plans=PLANS[:2],
        steps=(viber, replace(sms, status=StepStatus.SENT)),
        status=FlowStatus.SUCCEEDED,
        status_code=None,
    )
    delivered = replace(sent, steps=(viber, replace(sms, status=StepStatus.DELIVERED)))
    assert webhook_payload(FlowRecord(sent, on_completion), 1.0) is None
    assert webhook_payload(FlowRecord(delivered, on_completion), 1.0) is not None
