"""What the provider POSTs to Routee, and that the sandbox reads it as Routee would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.providers.base import SendRequest
from failover_otp.providers.routee import bodies, shapes, validation, wire
from failover_otp.providers.routee.validation import Rejection, SendSpec
from failover_otp.providers.routee.wire_choices import (
    ViberButtonField,
    ViberOtpRecipient,
    WireChoices,
)

CALLBACK = "https://otp.example.com/callbacks/routee/tok"
OTP_STEP = {
    "type": "ViberOtp",
    "to": "+306912345670",
    "order": 1,
    "ttl": 120,
    "label": "login",
    "senderInfoTrackingId": "sender-1",
    "templateId": bodies.BASIC_TEMPLATE_ID,
    "templateLang": "el",
    "pin": "482913",
    "failoverOnDelivered": False,
}
SMS_STEP = {
    "type": "Sms",
    "to": "306912345670",
    "order": 2,
    "ttl": 300,
    "from": "MyBrand",
    "message": {"body": "Your code is 482913", "flash": False},
}


def request(channel: Channel, content: dict[str, Any], ttl: float | None = 120) -> SendRequest:
    return SendRequest("flow", 0, channel, "306912345670", ttl, content, label="login")


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [(1, 1), (59, 1), (60, 1), (61, 2), (90, 2), (300, 5), (86400, 1440), (10**7, 4320)],
)
def test_sms_ttl_rounds_up_to_whole_minutes(seconds: float, minutes: int) -> None:
    assert bodies.sms_ttl_minutes(seconds) == minutes


def test_sms_body() -> None:
    assert bodies.sms_body(request(Channel.SMS, SMS_STEP, 90), CALLBACK) == {
        "body": "Your code is 482913",
        "to": "+306912345670",
        "from": "MyBrand",
        "flash": False,
        "ttl": 2,
        "label": "login",
        "callback": {"url": CALLBACK, "strategy": "OnChange"},
    }


def test_sms_body_without_ttl_callback_or_message_object() -> None:
    content = {"from": "123456", "body": "plain"}

    assert bodies.sms_body(request(Channel.SMS, content, None), None) == {
        "body": "plain",
        "to": "+306912345670",
        "from": "123456",
        "label": "login",
    }


def test_viber_otp_body() -> None:
    assert bodies.viber_otp_body(request(Channel.VIBER, OTP_STEP, 120.2), CALLBACK) == {
        "senderInfoTrackingId": "sender-1",
        "to": "+306912345670",
        "templateId": bodies.BASIC_TEMPLATE_ID,
        "templateLang": "el",
        "templateParams": {"pin": "482913"},
        "label": "transactional",
        "ttl": 121,
        "callback": {"url": CALLBACK, "strategy": "OnChange"},
    }


@pytest.mark.parametrize(
    ("extra", "params"),
    [
        ({"businessName": "Acme"}, {"pin": "482913", "businessPlatformName": "Acme"}),
        ({"codeValidityTime": "5"}, {"pin": "482913", "codeValidityTime": 5}),
        ({"validity": 10}, {"pin": "482913", "codeValidityTime": 10}),
        ({"pinType": "login code"}, {"pin": "482913", "pinType": "login code"}),
        ({"reason": "sign-in"}, {"pin": "482913", "codeReason": "sign-in"}),
        ({"somethingNew": "x"}, {"pin": "482913", "somethingNew": "x"}),
        ({"templateParams": {"pin": "999999"}}, {"pin": "999999"}),
        ({"businessName": None}, {"pin": "482913"}),
    ],
)
def test_template_params(extra: dict[str, Any], params: dict[str, Any]) -> None:
    """Step fields map to the template inventory's names; unknown ones pass through."""
    assert bodies.template_params(OTP_STEP | extra) == params


@pytest.mark.parametrize(
    ("template_id", "extra", "params"),
    [
        (bodies.BASIC_TEMPLATE_ID, {"businessName": "Acme"}, {"pin": "482913"}),
        (bodies.BASIC_TEMPLATE_ID, {"somethingNew": "x"}, {"pin": "482913"}),
        (
            "be56d97b-2a33-4c89-ac5f-f555a2c827d9",
            {"businessName": "Acme", "reason": "sign-in", "pinType": "x"},
            {"pin": "482913", "businessPlatformName": "Acme", "codeReason": "sign-in"},
        ),
        ("our-own-template", {"somethingNew": "x"}, {"pin": "482913", "somethingNew": "x"}),
    ],
)
def test_a_template_of_the_inventory_gets_only_its_variables(
    template_id: str, extra: dict[str, Any], params: dict[str, Any]
) -> None:
    """Viber refuses variables a template does not take; a template we do not know gets all."""
    content = OTP_STEP | extra | {"templateId": template_id}
    body = bodies.viber_otp_body(request(Channel.VIBER, content), None)

    assert body["templateParams"] == params
    assert validation.template_problem(template_id, body["templateParams"]) is None


def test_wire_choices_switch_one_field_each() -> None:
    """The two unsettled wire facts: ``to`` of /viber/otp and the Viber button's field."""
    array = WireChoices(viber_otp_to=ViberOtpRecipient.ARRAY)
    action = WireChoices(viber_button=ViberButtonField.ACTION)
    otp = request(Channel.VIBER, OTP_STEP)
    button = {"caption": "Go", "targetUrl": "https://x"}
    viber = request(Channel.VIBER, {"senderInfoTrackingId": "s", "text": "Hi", "action": button})

    assert bodies.viber_otp_body(otp, None)["to"] == "+306912345670"
    assert bodies.viber_otp_body(otp, None, array)["to"] == ["+306912345670"]
    assert bodies.viber_body(viber, None)["body"] == {"text": "Hi", "viberAction": button}
    assert bodies.viber_body(viber, None, action)["body"] == {"text": "Hi", "action": button}
    assert isinstance(validation.viber_otp_send(bodies.viber_otp_body(otp, None)), SendSpec)
    assert isinstance(validation.viber_otp_send(bodies.viber_otp_body(otp, None, array)), Rejection)
    assert isinstance(validation.viber_send(bodies.viber_body(viber, None)), SendSpec)
    assert isinstance(validation.viber_send(bodies.viber_body(viber, None, action)), Rejection)


@pytest.mark.parametrize(
    ("template_type", "template_id"),
    [
        ("with_business_name", "c33cccaf-735f-4d62-8383-a76bf4999e2d"),
        ("with_reason", "be56d97b-2a33-4c89-ac5f-f555a2c827d9"),
        ("basic", bodies.BASIC_TEMPLATE_ID),
        (None, bodies.BASIC_TEMPLATE_ID),
        ("unheard_of", bodies.BASIC_TEMPLATE_ID),
    ],
)
def test_template_id_from_type_when_missing(template_type: str | None, template_id: str) -> None:
    content = {k: v for k, v in OTP_STEP.items() if k != "templateId"}
    content["templateType"] = template_type

    assert bodies.viber_otp_body(request(Channel.VIBER, content), None)["templateId"] == template_id


def test_standard_viber_body() -> None:
    content = {
        "type": "Viber",
        "senderInfoTrackingId": "s",
        "text": "Hi",
        "imageUrl": "https://x/y.png",
        "action": {"caption": "Go", "targetUrl": "https://x"},
        "expireOnDelivery": True,
    }

    assert bodies.send_path_and_body(request(Channel.VIBER, content, 10), None) == (
        "/viber",
        {
            "senderInfoTrackingId": "s",
            "to": "+306912345670",
            "body": {
                "text": "Hi",
                "imageURL": "https://x/y.png",
                "viberAction": {"caption": "Go", "targetUrl": "https://x"},
            },
            "ttl": 30,
            "expireOnDelivery": True,
            "label": "login",
        },
    )


def test_send_paths() -> None:
    assert bodies.send_path_and_body(request(Channel.SMS, SMS_STEP), None)[0] == "/sms"
    assert bodies.send_path_and_body(request(Channel.VIBER, OTP_STEP), None)[0] == "/viber/otp"
    with pytest.raises(ValueError, match="voice"):
        bodies.send_path_and_body(request(Channel.VOICE, {}), None)


@pytest.mark.parametrize(
    ("public_url", "token", "url"),
    [
        ("https://otp.example.com/", "tok", "https://otp.example.com/callbacks/routee/tok"),
        (
            "https://x.example/failover-otp",
            "t",
            "https://x.example/failover-otp/callbacks/routee/t",
        ),
        ("", "tok", None),
        ("https://otp.example.com", "", None),
    ],
)
def test_callback_url(public_url: str, token: str, url: str | None) -> None:
    assert bodies.callback_url(public_url, token) == url


@pytest.mark.parametrize(
    ("content", "path", "parse"),
    [
        (SMS_STEP, "/sms", validation.sms_send),
        (OTP_STEP, "/viber/otp", validation.viber_otp_send),
        ({"senderInfoTrackingId": "s", "text": "Hi"}, "/viber", validation.viber_send),
    ],
)
def test_what_the_provider_sends_the_sandbox_accepts(
    content: dict[str, Any], path: str, parse: Any
) -> None:
    channel = Channel.SMS if path == "/sms" else Channel.VIBER
    sent_path, body = bodies.send_path_and_body(request(channel, content), CALLBACK)

    spec = parse(body)

    assert sent_path == path
    assert isinstance(spec, SendSpec)
    assert spec.to == "306912345670"
    assert spec.callback == {"url": CALLBACK, "strategy": "OnChange"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"to": "306912345670", "from": "A", "body": "x"}, "400005000"),
        ({"to": "+306912345670", "from": "Far too long sender", "body": "x"}, "400005000"),
        ({"to": "+306912345670", "from": "A", "body": ""}, "400000000"),
        ({"to": "+306912345670", "from": "A", "body": "x", "ttl": 0}, "400000000"),
        ({"to": "+306912345670", "from": "A", "body": "x", "ttl": "5"}, "400000000"),
    ],
)
def test_sandbox_refuses_what_routee_refuses(body: dict[str, Any], code: str) -> None:
    rejection = validation.sms_send(body)

    assert isinstance(rejection, Rejection)
    assert rejection.code == code


def test_sandbox_search_filters() -> None:
    filters = validation.search_filters([{"fieldName": "id", "searchTerm": "m"}])

    assert filters == [("messageId", "m")]
    assert validation.matches({"messageId": "m"}, filters)
    assert validation.matches({"status": {"status": "Sent"}}, [("status", "Sent")])
    assert isinstance(validation.search_filters([{"fieldName": "password"}]), Rejection)
    assert isinstance(validation.search_filters({}), Rejection)


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.VIBER])
@pytest.mark.parametrize(
    "status", [StepStatus.QUEUED, StepStatus.DELIVERED, StepStatus.SEEN, StepStatus.FAILED]
)
def test_sandbox_callbacks_read_back_as_what_they_say(channel: Channel, status: StepStatus) -> None:
    """What the sandbox emits, the provider reads: the two halves agree on the wire."""
    spec = SendSpec(channel, "306912345670", "code 1", "code 1", "Brand", "login", 5)
    at = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    view = shapes.MessageView(
        spec, "m", 2, 0.075, "GR", "Op", at, status, "Detail", at, sms_ids=["a", "b"]
    )

    reports = [r for b in shapes.callbacks(view) for r in wire.parse_callback(wire.dump_json(b))]
    tracking = (
        wire.report_from_sms_tracking("m", shapes.sms_tracking(view))
        if channel is Channel.SMS
        else wire.report_from_object(shapes.viber_tracking(view))
    )

    assert {r.status for r in reports} == {status}
    assert [r.price for r in reports] == [pytest.approx(0.075)] * len(reports)
    assert tracking is not None
    assert tracking.status == status
    assert tracking.price == pytest.approx(0.075)
    assert tracking.at == at
    assert wire.read_receipt(channel, shapes.send_answer(view)).message_id == "m"
