"""``POST /failover`` bodies: validation, ttl units and defaults, failover triggers, the echo."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.services.errors import Invalid
from failover_otp.web.failover_requests import standard_plans
from failover_otp.web.failover_schemas import (
    VOICE_CALL_WINDOW_SECONDS,
    SendStandardFailoverRequest,
)

TO = "+306912345671"


def viber(**extra: Any) -> dict[str, Any]:
    return {
        "type": "Viber",
        "to": TO,
        "order": 1,
        "senderInfoTrackingId": "sender-1",
        "text": "Hello",
        **extra,
    }


def sms(**extra: Any) -> dict[str, Any]:
    return {
        "type": "Sms",
        "to": TO.lstrip("+"),
        "order": 2,
        "from": "Routee",
        "message": {"body": "Hello from failover"},
        **extra,
    }


def voice(**extra: Any) -> dict[str, Any]:
    return {
        "type": "Voice",
        "to": {"phone": TO},
        "from": "+306900000000",
        "order": 3,
        "dialPlan": {
            "verbs": [
                {"type": "SAY", "message": {"language": "en-US", "gender": "Male", "text": "Hi"}},
                {"type": "PLAY", "fileURL": "https://example.com/a.mp3", "repeat": 2},
            ]
        },
        **extra,
    }


def plans_of(*steps: dict[str, Any], **top: Any) -> Any:
    return standard_plans(SendStandardFailoverRequest.model_validate({"flow": list(steps), **top}))


def test_defaults_and_units() -> None:
    plans, meta = plans_of(voice(), sms(), viber())
    assert [p.channel for p in plans] == [Channel.VIBER, Channel.SMS, Channel.VOICE]
    viber_plan, sms_plan, voice_plan = plans
    assert viber_plan.ttl_seconds == 600.0  # 10 minutes
    assert sms_plan.ttl_seconds == 1200 * 60.0
    assert voice_plan.ttl_seconds == VOICE_CALL_WINDOW_SECONDS
    assert viber_plan.failover_on == {
        StepStatus.EXPIRED,
        StepStatus.FAILED,
        StepStatus.UNDELIVERED,
    }
    assert sms_plan.failover_on == {StepStatus.FAILED, StepStatus.UNDELIVERED}
    assert voice_plan.failover_on == {StepStatus.BUSY, StepStatus.NO_ANSWER}
    assert {p.to for p in plans} == {"306912345671"}
    assert not viber_plan.expire_on_delivery
    # The echo is in flow order, with the defaults filled in, in each channel's wording.
    assert [s["type"] for s in meta.request] == ["Viber", "Sms", "Voice"]
    assert meta.request[0]["ttl"] == 10.0
    assert meta.request[0]["failoverOnStatuses"] == ["EXPIRED", "FAILED", "UNDELIVERED"]
    assert meta.request[1]["ttl"] == 1200
    assert meta.request[1]["failoverOnStatuses"] == ["Failed", "Undelivered"]
    assert meta.request[2]["failoverOnStatuses"] == ["Busy", "NoAnswer"]
    assert meta.request[2]["dialPlan"]["verbs"][0]["message"]["gender"] == "male"
    assert "ttl" not in meta.request[2]
    assert meta.callback_url is None
    assert meta.phone == "306912345671"


def test_given_ttls_statuses_and_callback() -> None:
    plans, meta = plans_of(
        viber(ttl=0.5, expireOnDelivery=True, failoverOnStatuses=["expired", "Undelivered"]),
        sms(ttl=1440, failoverOnStatuses=[]),
        voice(to="306912345671", failoverOnStatuses=["noanswer", "BUSY", "terminated"]),
        callback={"url": "https://example.com/hook", "strategy": "oncompletion"},
    )
    assert plans[0].ttl_seconds == 30.0
    assert plans[0].expire_on_delivery
    assert plans[0].failover_on == {StepStatus.EXPIRED, StepStatus.UNDELIVERED}
    assert plans[1].ttl_seconds == 1440 * 60.0
    assert plans[1].failover_on == frozenset()
    assert plans[2].failover_on == {
        StepStatus.BUSY,
        StepStatus.NO_ANSWER,
        StepStatus.TERMINATED,
    }
    assert plans[2].to == "306912345671"
    assert meta.request[2]["failoverOnStatuses"] == ["Busy", "NoAnswer", "Terminated"]
    assert meta.callback_url == "https://example.com/hook"
    assert meta.callback_strategy == "OnCompletion"


def test_sms_label_comes_from_the_message_when_the_step_has_none() -> None:
    _, meta = plans_of(sms(message={"body": "x", "label": "campaign"}))
    assert meta.request[0]["label"] == "campaign"
    assert meta.step_label(0) == "campaign"
    _, meta = plans_of(viber(label="promo"))
    assert meta.step_label(0) == "promo"


@pytest.mark.parametrize(
    "step",
    [
        sms(ttl=0),
        sms(ttl=1441),
        sms(ttl=1.5),
        viber(ttl=0.4),
        viber(ttl=1440.1),
        viber(ttl=0.55),
        viber(text=None),  # no content at all
        viber(imageUrl="http://example.com/a.png"),  # https only
        viber(templateId="0aac888f-2ee2-4112-9659-1755a951966a"),  # transactional only
        viber(failoverOnDelivered=True),  # an OTP-only field
        {**sms(), "message": {}},
        {**sms(), "from": "far too long sender"},
        voice(dialPlan={"verbs": []}),
        voice(dialPlan={"verbs": [{"type": "DIAL"}]}),
        voice(to={"sip": "sip:a@b"}),
        {**voice(), "ttl": 5},  # Voice has no ttl
        {"type": "Email", "to": TO, "order": 1},
    ],
)
def test_schema_rejects(step: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SendStandardFailoverRequest.model_validate({"flow": [step]})


@pytest.mark.parametrize(
    "steps",
    [
        [viber(order=1), sms(order=1)],  # duplicate order
        [viber(failoverOnStatuses=["Busy"])],  # not a Viber status
        [sms(failoverOnStatuses=["EXPIRED"])],  # SMS expiry is Undelivered
        [sms(failoverOnStatuses=["Delivered"])],  # not a failure
        [voice(failoverOnStatuses=["Teleported"])],
        [viber(to="12")],  # not a phone number
        [voice(to={"phone": "nope"})],
    ],
)
def test_plans_reject(steps: list[dict[str, Any]]) -> None:
    with pytest.raises(Invalid):
        plans_of(*steps)


def test_callback_strategy_must_be_known() -> None:
    with pytest.raises(ValidationError):
        SendStandardFailoverRequest.model_validate(
            {"flow": [sms()], "callback": {"url": "https://x.example", "strategy": "Sometimes"}}
        )
