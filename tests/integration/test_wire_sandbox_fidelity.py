"""The standalone sandbox answers as Routee does: error bodies, scopes, strict inputs, the
account, callback strategies, callbacks switched off, and only the documented wire forms.

Raw HTTP where the point is Routee's answer itself; the real provider where the point is how
our client copes with it.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.support.waiting import wait_until_async
from tests.support.wire_sandbox import (
    CALLBACK_TOKEN,
    MakeProvider,
    Receiver,
    Sandbox,
    StartSandbox,
)

from failover_otp.domain.statuses import Channel, RejectReason, StepStatus
from failover_otp.providers.base import SendRefused, SendRequest
from failover_otp.providers.routee import RouteeProvider
from failover_otp.providers.routee.bodies import BASIC_TEMPLATE_ID
from failover_otp.providers.routee.wire import routee_time

pytestmark = pytest.mark.asyncio(loop_scope="session")

pytest_plugins = ["tests.support.wire_sandbox"]

NUMBER = "+306912345670"
BUSINESS_NAME_TEMPLATE = "c33cccaf-735f-4d62-8383-a76bf4999e2d"


def sms_body(**extra: Any) -> dict[str, Any]:
    return {"to": NUMBER, "from": "MyBrand", "body": f"code {uuid.uuid4().hex[:6]}"} | extra


def viber_otp_body(**extra: Any) -> dict[str, Any]:
    return {
        "senderInfoTrackingId": "sender-1",
        "to": NUMBER,
        "templateId": BASIC_TEMPLATE_ID,
        "templateParams": {"pin": "482913"},
    } | extra


def viber_body(content: dict[str, Any]) -> dict[str, Any]:
    return {"senderInfoTrackingId": "sender-1", "to": NUMBER, "body": content}


# -- item 5: error bodies ---------------------------------------------------------------------


async def test_bad_credentials_answer_routees_body(start_sandbox: StartSandbox) -> None:
    """Routee (a recorded run, public clients) answers bad credentials with Spring's body, and
    a public Java SDK reads ``error``/``message`` from it."""
    strict = await start_sandbox(app_id="app", app_secret="right")
    status, body = await strict.grant(secret="wrong")
    assert status == 401
    assert body["error"] == "Unauthorized"
    assert body["message"] == "Bad credentials"
    assert body["status"] == 401
    assert body["path"] == "/oauth/token"
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None
    status, body = await strict.grant(secret="right")
    assert status == 200


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/path", 404),
        ("POST", "/viber/otp/extra", 404),
        ("GET", "/sms", 405),
        ("DELETE", "/viber/tracking/x", 405),
    ],
)
async def test_unknown_paths_and_methods_answer_routee_json(
    sandbox: Sandbox, method: str, path: str, status: int
) -> None:
    token = await sandbox.token()
    answer_status, body = await sandbox.call(method, path, token)
    assert answer_status == status
    assert body["code"] == f"{status}000000"
    assert path in body["developerMessage"]


async def test_unknown_path_without_a_token_is_401_json(sandbox: Sandbox) -> None:
    status, body = await sandbox.call("GET", "/no/such/path", None)
    assert (status, body["code"]) == (401, "401000000")


async def test_unknown_control_action_is_json(sandbox: Sandbox) -> None:
    status, body = await sandbox.call("POST", "/_sandbox/no-such-action", None, json={})
    assert (status, body["code"]) == (404, "404000000")


# -- item 8: scopes and strictness ---------------------------------------------------------------


async def test_a_token_is_limited_to_the_scopes_it_asked_for(sandbox: Sandbox) -> None:
    status, grant = await sandbox.grant("viber")
    assert status == 200
    assert grant["scope"] == "viber"
    assert grant["permissions"] == ["MT_ROLE_VIBER"]
    viber_only = grant["access_token"]

    status, body = await sandbox.call("POST", "/sms", viber_only, json=sms_body())
    assert (status, body["code"]) == (403, "403000000")
    status, body = await sandbox.call("GET", "/accounts/me/balance", viber_only)
    assert status == 403
    status, _ = await sandbox.call("POST", "/viber/otp", viber_only, json=viber_otp_body())
    assert status == 200
    assert (await sandbox.sends())["total"] == 1  # the refused SMS was never taken

    sms_and_account = await sandbox.token("sms,account")  # the C# SDK's comma-joined form
    assert (await sandbox.call("POST", "/sms", sms_and_account, json=sms_body()))[0] == 200
    assert (await sandbox.call("GET", "/accounts/me/balance", sms_and_account))[0] == 200
    assert (await sandbox.call("POST", "/viber/otp", sms_and_account, json={}))[0] == 403


async def test_no_scope_or_all_gets_every_scope_and_an_unknown_one_is_refused(
    sandbox: Sandbox,
) -> None:
    for asked in (None, "all"):
        status, grant = await sandbox.grant(asked)
        assert status == 200
        assert grant["scope"] == "account sms viber"
    status, body = await sandbox.grant("sms voice")
    assert status == 400
    assert body["error"] == "invalid_scope"


async def test_the_provider_refreshes_once_then_gives_up_on_a_403(
    sandbox: Sandbox, provider: RouteeProvider
) -> None:
    """A 403 (no right to the resource) is refused like Routee's, and our client treats it as
    Routee documents: one new token, then a server error."""
    await sandbox.script(status=403, code="403000000", times=2)
    request = SendRequest("f", 0, Channel.SMS, NUMBER[1:], 60, {"from": "A", "body": "x"})
    with pytest.raises(SendRefused) as refused:
        await provider.send(request)
    assert refused.value.reason is RejectReason.SERVER_ERROR


@pytest.mark.parametrize(
    ("params", "accepted"),
    [
        ({}, False),
        ({"dateStart": "yesterday"}, False),
        ({"dateStart": "2026-13-45T99:00Z"}, False),
        ({"dateEnd": "2026-01-01T00:00:00Z"}, False),
        ({"dateStart": "NOW", "dateEnd": "not a date"}, False),
        ({"dateStart": "8 DAYS AGO"}, False),
        ({"dateStart": "NOW", "dateEnd": "1 HOUR AGO"}, False),
        ({"dateStart": "NOW"}, True),
        ({"dateStart": "1 HOUR AGO", "dateEnd": "NOW"}, True),
    ],
)
async def test_sms_search_needs_a_valid_recent_date_start(
    sandbox: Sandbox, params: dict[str, str], accepted: bool
) -> None:
    now = datetime.now(UTC)
    moments = {
        "NOW": now - timedelta(minutes=1),
        "1 HOUR AGO": now - timedelta(hours=1),
        "8 DAYS AGO": now - timedelta(days=8),
    }
    query = {k: routee_time(moments[v]) if v in moments else v for k, v in params.items()}
    token = await sandbox.token()
    status, body = await sandbox.call("POST", "/sms/tracking", token, json=[], params=query)
    if accepted:
        assert status == 200, body
        assert "content" in body
    else:
        assert (status, body["code"]) == (400, "400000000"), body


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"text": "Hi"}, None),
        ({"imageURL": "https://x.example/a.png"}, None),
        ({"text": "Hi", "viberAction": {"caption": "Go", "targetUrl": "https://x.example"}}, None),
        (
            {
                "text": "Hi",
                "imageURL": "https://x.example/a.png",
                "viberAction": {"caption": "Go", "targetUrl": "https://x.example"},
            },
            None,
        ),
        ({"text": "Hi", "imageURL": "https://x.example/a.png"}, "needs a button"),
        (
            {
                "imageURL": "https://x.example/a.png",
                "viberAction": {"caption": "Go", "targetUrl": "u"},
            },
            "needs body.text",
        ),
        ({"text": "Hi", "viberAction": {"caption": "Go"}}, "caption and a targetUrl"),
        ({"text": "Hi", "action": {"caption": "Go", "targetUrl": "https://x"}}, "body.action"),
        ({"text": "Hi", "imageUrl": "https://x.example/a.png"}, "body.imageUrl"),
        ({}, "is required"),
    ],
)
async def test_viber_messages_viber_would_refuse_are_refused(
    sandbox: Sandbox, content: dict[str, Any], problem: str | None
) -> None:
    token = await sandbox.token()
    status, body = await sandbox.call("POST", "/viber", token, json=viber_body(content))
    if problem is None:
        assert status == 200, body
    else:
        assert (status, body["code"]) == (400, "400000000")
        assert problem in body["developerMessage"]


@pytest.mark.parametrize(
    ("template", "params", "problem"),
    [
        (BASIC_TEMPLATE_ID, {"pin": "4829"}, None),
        (BASIC_TEMPLATE_ID, {"pin": "4829", "businessPlatformName": "Shop"}, "not a variable"),
        (BUSINESS_NAME_TEMPLATE, {"pin": "4829"}, "required"),
        (BUSINESS_NAME_TEMPLATE, {"pin": "4829", "businessPlatformName": "Shop"}, None),
        (
            BUSINESS_NAME_TEMPLATE,
            {"pin": "4829", "businessPlatformName": "x.example www.x.y"},
            "links",
        ),
        (BUSINESS_NAME_TEMPLATE, {"pin": "4829", "businessPlatformName": "n" * 51}, "50"),
        (
            "bed0942f-e07e-4879-834b-29cc4cf3ec35",
            {"pin": "4829", "codeValidityTime": "5"},
            "integer",
        ),
        ("bed0942f-e07e-4879-834b-29cc4cf3ec35", {"pin": "4829", "codeValidityTime": 5}, None),
        ("a-template-of-our-own", {"pin": "4829", "anything": "goes"}, None),
    ],
)
async def test_viber_otp_template_variables(
    sandbox: Sandbox, template: str, params: dict[str, Any], problem: str | None
) -> None:
    token = await sandbox.token()
    body = viber_otp_body(templateId=template, templateParams=params)
    status, answer = await sandbox.call("POST", "/viber/otp", token, json=body)
    if problem is None:
        assert status == 200, answer
    else:
        assert status == 400
        assert problem in answer["developerMessage"]


# -- item 6: the account -------------------------------------------------------------------------


async def test_sends_spend_the_balance_and_an_empty_account_refuses(
    sandbox: Sandbox, provider: RouteeProvider
) -> None:
    token = await sandbox.token()
    status, opening = await sandbox.call("GET", "/accounts/me/balance", token)
    assert status == 200
    assert opening["currency"]["code"] == "EUR"
    request = SendRequest(
        "f", 1, Channel.SMS, NUMBER[1:], 60, {"from": "A", "message": {"body": "x" * 200}}
    )
    await provider.send(request)  # two parts
    _, after = await sandbox.call("GET", "/accounts/me/balance", token)
    assert after["balance"] == pytest.approx(opening["balance"] - 2 * 0.0375)

    await sandbox.control("balance", {"balance": 0.04})
    with pytest.raises(SendRefused) as refused:  # 0.075 > 0.04: insufficient balance, any digit
        await provider.send(request)
    assert refused.value.reason is RejectReason.INSUFFICIENT_BALANCE
    assert "400001009" in refused.value.message
    _, empty = await sandbox.call("GET", "/accounts/me/balance", token)
    assert empty["balance"] == pytest.approx(0.04)  # nothing was taken
    viber = viber_otp_body()  # 0.0093 still fits
    assert (await sandbox.call("POST", "/viber/otp", token, json=viber))[0] == 200

    status, page = await sandbox.call("GET", "/accounts/me/transactions", token)
    assert status == 200
    top_ups = page["content"]
    assert [t["transactionType"] for t in top_ups] == ["TopUp", "TopUp"]
    assert top_ups[0]["balanceAfter"] == pytest.approx(0.04)  # newest first
    assert top_ups[0]["balanceBefore"] == pytest.approx(after["balance"])
    assert top_ups[1]["amount"] == pytest.approx(opening["balance"])
    assert page["totalElements"] == 2
    await sandbox.control("reset")
    _, reset = await sandbox.call("GET", "/accounts/me/balance", token)
    assert reset["balance"] == pytest.approx(opening["balance"])


# -- item 7: callback strategies; item 9's switch ------------------------------------------------


async def test_on_completion_gets_only_the_final_report(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    """Digit 0 is DELIVERED then SEEN: ``OnChange`` is told both, ``OnCompletion`` only SEEN."""
    token = await sandbox.token()
    url = f"{receiver.url}/callbacks/routee/{CALLBACK_TOKEN}"
    ids = {}
    for strategy in ("OnChange", "OnCompletion"):
        body = viber_otp_body(
            templateParams={"pin": uuid.uuid4().hex[:6]},
            callback={"url": url, "strategy": strategy},
        )
        status, answer = await sandbox.call("POST", "/viber/otp", token, json=body)
        assert status == 200
        ids[strategy] = answer["trackingId"]
    for message_id in ids.values():
        await receiver.wait_for(message_id, StepStatus.SEEN)
    assert receiver.statuses(ids["OnChange"]) == [StepStatus.DELIVERED, StepStatus.SEEN]
    assert receiver.statuses(ids["OnCompletion"]) == [StepStatus.SEEN]


async def test_callbacks_can_be_switched_off(
    start_sandbox: StartSandbox, make_provider: MakeProvider, receiver: Receiver
) -> None:
    silent = await start_sandbox(callbacks=False)
    provider = make_provider(silent.url)
    request = SendRequest(
        "f", 1, Channel.SMS, NUMBER[1:], 60, {"from": "A", "message": {"body": "x"}}
    )
    receipt = await provider.send(request)

    async def delivered() -> bool:  # after 2 sandbox seconds (1/30 s)
        report = await provider.lookup(Channel.SMS, receipt.message_id)
        return report is not None and report.status is StepStatus.DELIVERED

    await wait_until_async(delivered, what="the SMS delivered")
    counts = await silent.sends()
    assert counts["callbacks_enabled"] is False
    assert counts["callbacks"] == {}
    assert receiver.reports == []
    await silent.control("callbacks", {"enabled": True})
    receipt = await provider.send(request)
    await receiver.wait_for(receipt.message_id, StepStatus.DELIVERED)


# -- item 10: the undecided wire forms ------------------------------------------------------------


def _viber_with_button() -> SendRequest:
    content = {
        "type": "Viber",
        "senderInfoTrackingId": "sender-1",
        "text": "Your order shipped",
        "imageUrl": "https://x.example/a.png",
        "action": {"caption": "Track", "targetUrl": "https://x.example/t"},
    }
    return SendRequest("f", 0, Channel.VIBER, NUMBER[1:], 600, content)


def _viber_otp() -> SendRequest:
    content = {"senderInfoTrackingId": "sender-1", "templateId": BASIC_TEMPLATE_ID, "pin": "4829"}
    return SendRequest("f", 0, Channel.VIBER, NUMBER[1:], 600, content)


@pytest.mark.parametrize(
    ("setting", "value", "request_of"),
    [
        ("routee_viber_otp_to", "array", _viber_otp),
        ("routee_viber_button_field", "action", _viber_with_button),
    ],
)
async def test_only_the_documented_wire_forms_pass_the_sandbox(
    make_provider: MakeProvider, setting: str, value: str, request_of: Any
) -> None:
    """The default form of each undecided wire fact is accepted; the other is refused, so a
    switch of the setting (or a change of the default) shows in tests."""
    receipt = await make_provider().send(request_of())
    assert receipt.message_id
    with pytest.raises(SendRefused) as refused:
        await make_provider(**{setting: value}).send(request_of())
    assert refused.value.reason is RejectReason.INVALID_REQUEST


# -- item 7: intermediate reports and report orders ------------------------------------------


async def _sms_statuses(
    sandbox: Sandbox, receiver: Receiver, *, marker: str = "", strategy: str = "OnChange"
) -> list[StepStatus]:
    """Send an SMS to a …3 number (Sent, then Undelivered) and collect its callbacks."""
    token = await sandbox.token()
    url = f"{receiver.url}/callbacks/routee/{CALLBACK_TOKEN}"
    body = sms_body(
        to="+306912345673",
        body=f"code {uuid.uuid4().hex[:6]} {marker}",
        ttl=1,  # minutes: [sandbox:late] reports come after it, one real second at scale 60
        callback={"url": url, "strategy": strategy},
    )
    status, answer = await sandbox.call("POST", "/sms", token, json=body)
    assert status == 200, answer
    message_id = answer["trackingId"]
    await receiver.wait_for(message_id, StepStatus.UNDELIVERED)
    # The rest of a batch follows the first report.
    await wait_until_async(
        lambda: sandbox.sim.pushes_pending == 0, what="the batch's reports", interval=0.01
    )
    return receiver.statuses(message_id)


@pytest.mark.parametrize(
    ("marker", "strategy", "statuses"),
    [
        ("", "OnChange", [StepStatus.SENT, StepStatus.UNDELIVERED]),
        ("", "OnCompletion", [StepStatus.UNDELIVERED]),
        ("[sandbox:reversed]", "OnChange", [StepStatus.UNDELIVERED, StepStatus.SENT]),
        ("[sandbox:duplicated]", "OnChange", [StepStatus.SENT] * 2 + [StepStatus.UNDELIVERED] * 2),
        ("[sandbox:late]", "OnChange", [StepStatus.SENT, StepStatus.UNDELIVERED]),
        ("[sandbox:reversed]", "OnCompletion", [StepStatus.UNDELIVERED]),
    ],
)
async def test_sms_reports_sent_then_its_verdict_in_the_order_asked(
    sandbox: Sandbox, receiver: Receiver, marker: str, strategy: str, statuses: list[StepStatus]
) -> None:
    assert await _sms_statuses(sandbox, receiver, marker=marker, strategy=strategy) == statuses


TTL_REAL_SECONDS = 1.0  # the SMS ttl below: 1 sandbox minute at time scale 60


async def test_late_reports_come_after_the_ttl_while_tracking_is_current(
    sandbox: Sandbox, receiver: Receiver, provider: RouteeProvider
) -> None:
    token = await sandbox.token()
    url = f"{receiver.url}/callbacks/routee/{CALLBACK_TOKEN}"
    body = sms_body(body="code [sandbox:late]", ttl=1, callback={"url": url})
    posted = time.monotonic()
    _, answer = await sandbox.call("POST", "/sms", token, json=body)
    message_id = answer["trackingId"]

    async def tracked_delivered() -> bool:  # after 2 sandbox seconds: tracking says so at once
        report = await provider.lookup(Channel.SMS, message_id)
        return report is not None and report.status is StepStatus.DELIVERED

    await wait_until_async(tracked_delivered, what="tracking to show Delivered", interval=0.01)
    if time.monotonic() - posted < TTL_REAL_SECONDS:
        # Tracking was current before the ttl ran out: no callback may have come yet. (A busy
        # machine may only get here after the ttl; the arrival time below still holds then.)
        assert receiver.statuses(message_id) == []
    await receiver.wait_for(message_id, StepStatus.DELIVERED)
    assert receiver.statuses(message_id) == [StepStatus.SENT, StepStatus.DELIVERED]
    # The callbacks waited for the ttl: late is what a busy machine does, early is the bug.
    assert receiver.first_arrival(message_id) - posted >= TTL_REAL_SECONDS
    sent_at, delivered_at = (r.at for r in receiver.reports)
    # Stamped when each status happened, not when the late callback went out.
    assert sent_at is not None
    assert delivered_at is not None
    assert sent_at < delivered_at
