"""The send endpoints' answers and the OTP request's plans and code: pure, no I/O."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from tests.unit.domain.factories import PHONE, T0, flow_with, make_step, sms, viber

from failover_otp.domain.records import FlowMeta, FlowRecord
from failover_otp.domain.statuses import Channel, FlowStatus, StatusCode, StepStatus
from failover_otp.services.errors import Invalid
from failover_otp.services.otp_codes import take_code
from failover_otp.services.otp_requests import OtpAsk, OtpStepAsk, otp_plans
from failover_otp.services.send_answers import otp_send_answer, standard_send_answer

VIBER_ECHO = {"type": "ViberOtp", "to": PHONE, "order": 1, "ttl": 120}
SMS_ECHO = {"type": "Sms", "to": PHONE, "order": 2, "ttl": 300, "message": {"body": "{pin}"}}
META = FlowMeta(request=[VIBER_ECHO, SMS_ECHO], phone=PHONE, label="login")


def test_an_otp_answer_gives_the_tracking_ids_of_the_accepted_steps() -> None:
    accepted = replace(make_step(0, StepStatus.QUEUED), sent_at=T0)
    record = FlowRecord(flow_with((viber(), sms()), accepted), META)
    body = otp_send_answer(record)
    assert body["flowId"] == record.flow.id
    assert (body["status"], body["type"], body["statusCode"]) == ("InProgress", "Viber", None)
    assert [step["trackingId"] for step in body["flow"]] == ["msg-0", None]
    assert body["createdAt"] == "2026-02-16T12:00:00.000Z"
    assert "error" not in body


def test_a_failed_otp_answer_has_no_flow_id_and_says_why() -> None:
    refused = make_step(0, StepStatus.FAILED, error_message="refused")
    flow = replace(
        flow_with(
            (viber(),), refused, status=FlowStatus.FAILED, status_code=StatusCode.NO_NEXT_STEP
        ),
        error="no channel accepted the message",
    )
    body = otp_send_answer(FlowRecord(flow, replace(META, request=[VIBER_ECHO])))
    assert (body["flowId"], body["status"], body["type"]) == (None, "Failed", None)
    assert body["statusCode"] == int(StatusCode.NO_NEXT_STEP)
    assert body["error"] == "no channel accepted the message"


def test_a_standard_answer_echoes_the_request_and_its_callback() -> None:
    meta = replace(META, callback_url="https://example.com/hook", callback_strategy="OnChange")
    record = FlowRecord(flow_with((viber(), sms())), meta)
    assert standard_send_answer(record) == {
        "trackingId": record.flow.id,
        "flow": [VIBER_ECHO, SMS_ECHO],
        "callback": {"url": "https://example.com/hook", "strategy": "OnChange"},
        "createdAt": "2026-02-16T12:00:00.000Z",
    }
    assert standard_send_answer(FlowRecord(record.flow, META))["callback"] is None


def _ask(*steps: OtpStepAsk) -> OtpAsk:
    return OtpAsk(steps=steps)


def _viber(order: int = 1, pin: str | None = None, **echo: Any) -> OtpStepAsk:
    return OtpStepAsk(
        channel=Channel.VIBER,
        to=PHONE,
        order=order,
        ttl=120,
        echo={"type": "ViberOtp", **({"pin": pin} if pin else {}), **echo},
        label=echo.get("label"),
        pin=pin,
    )


def _sms(order: int = 2, body: str = "Your code is {pin}") -> OtpStepAsk:
    return OtpStepAsk(
        channel=Channel.SMS,
        to="+" + PHONE,
        order=order,
        ttl=300,
        echo={"type": "Sms", "message": {"body": body}},
        sms_body=body,
    )


def test_plans_follow_the_order_not_the_position() -> None:
    plans, meta = otp_plans(_ask(_sms(order=1), _viber(order=2)))
    assert [p.channel for p in plans] == [Channel.SMS, Channel.VIBER]
    assert meta.phone == PHONE
    assert [step["type"] for step in meta.request] == ["Sms", "ViberOtp"]


def test_duplicate_orders_are_invalid() -> None:
    with pytest.raises(Invalid) as refused:
        otp_plans(_ask(_viber(order=1), _sms(order=1)))
    assert refused.value.details[0]["loc"] == ["body", "flow"]


def test_a_generated_code_leaves_no_pin_in_what_is_stored() -> None:
    ask = _ask(_viber(), _sms())
    _, meta = otp_plans(ask)
    stored, code = take_code(ask, meta, length=6)
    assert code is not None
    assert len(code) == 6
    assert code.isdigit()
    assert all("pin" not in step for step in stored.request)


def test_the_callers_code_is_stored_as_the_placeholder() -> None:
    ask = _ask(_viber(pin="4321", label="code 4321"), _sms(body="Your code is 4321"))
    _, meta = otp_plans(ask)
    stored, code = take_code(ask, meta, length=6)
    assert code == "4321"
    assert "4321" not in repr(stored)
    assert stored.request[1]["message"]["body"] == "Your code is {pin}"


def test_different_pins_are_invalid() -> None:
    ask = _ask(_viber(order=1, pin="1111"), _viber(order=2, pin="2222"))
    _, meta = otp_plans(ask)
    with pytest.raises(Invalid):
        take_code(ask, meta, length=6)


def test_no_code_without_a_viber_step_or_placeholder() -> None:
    ask = _ask(_sms(order=1, body="hello"))
    _, meta = otp_plans(ask)
    assert take_code(ask, meta, length=6) == (meta, None)
