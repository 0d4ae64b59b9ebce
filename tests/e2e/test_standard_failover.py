"""Standard Failover flows (Viber, Sms, Voice) and the tracking search, over HTTP against the real
server process and its embedded sandbox (time scale 60: one sandbox minute is one real second)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.payloads import number, viber_sms_flow
from tests.support.server import ApiSession, ServerProcess, create_application
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import ThreadedReceiver

VIBER, SMS, VOICE = 0.0093, 0.0375, 0.042
UK = "+44740012345"  # + digit: a valid GB mobile
LONG_BODY = "Your parcel is on its way. " * 15  # 405 GSM-7 characters: three parts


def viber_step(to: str, order: int = 1, **extra: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "type": "Viber",
        "to": to,
        "order": order,
        "ttl": 0.5,
        "senderInfoTrackingId": "Routeetest",
        "text": "Hello from Viber",
        "imageUrl": "https://example.com/image.png",
        "action": {"caption": "Open", "targetUrl": "https://example.com/"},
        "label": "promo",
    }
    return {**step, **extra}


def sms_step(
    to: str, order: int = 2, body: str = "Hello from failover", **extra: Any
) -> dict[str, Any]:
    step: dict[str, Any] = {
        "type": "Sms",
        "to": to,
        "order": order,
        "from": "Routee",
        "ttl": 5,
        "message": {"body": body, "label": "sms-label"},
    }
    return {**step, **extra}


def voice_step(to: str, order: int = 3, *, as_object: bool = True, **extra: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "type": "Voice",
        "to": {"phone": to} if as_object else to,
        "from": "+306900000000",
        "order": order,
        "dialPlan": {
            "verbs": [
                {
                    "type": "SAY",
                    "repeat": 1,
                    "bargeIn": False,
                    "message": {"language": "en-US", "gender": "female", "text": "Hello"},
                },
                {"type": "PLAY", "repeat": 1, "fileURL": "https://example.com/a.mp3"},
            ]
        },
    }
    return {**step, **extra}


@pytest.fixture
def sandbox_voice(e2e_setup: str) -> None:
    """Voice calls exist in the embedded sandbox only: the Routee provider has no Voice send."""
    if e2e_setup == "routee":
        pytest.skip("the Routee provider refuses Voice steps (no Voice send endpoint)")


def send(api: ApiSession, *steps: dict[str, Any], **top: Any) -> dict[str, Any]:
    answer = api.post("/failover", {"flow": list(steps), **top})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def wait_ended(
    api: ApiSession, tracking_id: str, names: list[str] | None = None, timeout: float = 30.0
) -> dict[str, Any]:
    """The tracking once the flow has ended and (if given) its messages show ``names``."""

    def ended() -> dict[str, Any] | None:
        answer = api.get(f"/failover/tracking/{tracking_id}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        shown = [m["status"]["name"] for m in body["messages"]]
        ended = body["status"] in ("Succeeded", "Failed")
        return body if ended and (names is None or shown == names) else None

    body = wait_until(ended, timeout, what=f"flow {tracking_id} to end as {names}", interval=0.1)
    assert body is not None
    return body


# digit: (message statuses, flow status, statusCode, terminationChannel, total price)
THREE_STEPS = {
    # Viber FAILED, SMS Undelivered, the call fails too: no channel left.
    3: (["FAILED", "Undelivered", "Failed"], "Failed", 2, "Voice", VIBER + SMS + VOICE),
    # Viber EXPIRED at its ttl, SMS Failed, nobody answers the call.
    5: (["EXPIRED", "Failed", "NoAnswer"], "Failed", 2, "Voice", VIBER + SMS + VOICE),
    # Viber UNDELIVERED, SMS Delivered: the call is never made.
    2: (["UNDELIVERED", "Delivered"], "Succeeded", None, "Sms", VIBER + SMS),
    # Viber UNDELIVERED, SMS refused (balance) moves on, the call is refused too.
    8: (["UNDELIVERED", "Unsent", "Unsent"], "Failed", 1, "Voice", VIBER),
}


@pytest.mark.parametrize("digit", sorted(THREE_STEPS))
def test_viber_sms_voice(api: ApiSession, digit: int, e2e_setup: str) -> None:
    names, status, code, channel, price = THREE_STEPS[digit]
    if len(names) == 3 and e2e_setup == "routee":
        pytest.skip("the Routee provider refuses Voice steps (no Voice send endpoint)")
    to = number(digit)
    sent = send(
        api,
        voice_step(to, 3),
        sms_step(to.lstrip("+"), 2),
        viber_step(to, 1),
    )
    assert set(sent) == {"trackingId", "flow", "callback", "createdAt"}
    assert sent["callback"] is None
    assert [s["type"] for s in sent["flow"]] == ["Viber", "Sms", "Voice"]
    assert sent["flow"][0]["failoverOnStatuses"] == ["EXPIRED", "FAILED", "UNDELIVERED"]
    assert sent["flow"][1]["ttl"] == 5
    assert sent["flow"][2]["failoverOnStatuses"] == ["Busy", "NoAnswer"]

    body = wait_ended(api, sent["trackingId"], names)
    assert body["trackingId"] == sent["trackingId"]
    assert body["status"] == status
    assert body["statusCode"] == code
    assert body["terminationChannel"] == channel
    assert body["totalPrice"] == pytest.approx(price)
    assert body["originatingService"] == "Failover"
    assert body["createdAt"] == sent["createdAt"]
    messages = body["messages"]
    assert [m["type"] for m in messages] == ["Viber", "Sms", "Voice"][: len(names)]
    assert [m["order"] for m in messages] == [1, 2, 3][: len(names)]
    viber, sms = messages[0], messages[1]
    assert viber["from"] == "Routeetest"
    assert viber["to"] == to
    assert viber["country"] == "GR"
    assert viber["body"]["text"] == "Hello from Viber"
    assert viber["body"]["action"] == {"caption": "Open", "targetUrl": "https://example.com/"}
    assert viber["ttl"] == 0.5
    assert viber["label"] == "promo"
    assert sms["from"] == "Routee"
    assert sms["body"] == "Hello from failover"
    assert sms["label"] == "sms-label"
    assert (sms["part"], sms["parts"]) == (1, 1)
    if len(messages) == 3:
        call = messages[2]
        assert call["from"] == "+306900000000"
        assert call["to"] == to
        assert call["duration"] == 0
        assert set(call) >= {"messageId", "country", "status", "price", "answeredBy"}


@pytest.mark.parametrize(
    ("digit", "names", "status", "channel", "price"),
    [
        (0, ["Completed"], "Succeeded", "Voice", VOICE),  # answered (by a human)
        (4, ["Completed"], "Succeeded", "Voice", VOICE),  # answered (by a machine)
        (2, ["Busy", "Delivered"], "Succeeded", "Sms", VOICE + SMS),
        (1, ["NoAnswer", "Delivered"], "Succeeded", "Sms", VOICE + SMS),
        (9, ["Failed", "Delivered"], "Succeeded", "Sms", SMS),  # the call is refused at send
    ],
)
@pytest.mark.usefixtures("sandbox_voice")
def test_voice_first(
    api: ApiSession, digit: int, names: list[str], status: str, channel: str, price: float
) -> None:
    to = UK + str(digit)
    sent = send(api, voice_step(to, 1, as_object=False), sms_step(to, 2))
    body = wait_ended(api, sent["trackingId"], names)
    assert body["status"] == status
    assert body["terminationChannel"] == channel
    assert body["totalPrice"] == pytest.approx(price)
    call = body["messages"][0]
    assert call["type"] == "Voice"
    assert call["to"] == to
    assert call["country"] == "GB"
    if names[0] == "Completed":
        assert call["status"]["reason"]["detailedStatus"] == "Completed"
        # Filled from the sandbox's report (issue 16): who answered and for how long.
        assert call["answeredBy"] == ("human" if digit == 0 else "machine")
        assert isinstance(call["duration"], int)
        assert call["duration"] > 0
    else:
        assert call["answeredBy"] is None


@pytest.mark.usefixtures("sandbox_voice")
def test_voice_failover_statuses_are_honoured(api: ApiSession) -> None:
    """Busy is not a trigger here: the flow fails without trying SMS (statusCode 3)."""
    to = UK + "2"
    sent = send(api, voice_step(to, 1, failoverOnStatuses=["noanswer"]), sms_step(to, 2))
    assert sent["flow"][0]["failoverOnStatuses"] == ["NoAnswer"]
    body = wait_ended(api, sent["trackingId"], ["Busy"])
    assert body["status"] == "Failed"
    assert body["statusCode"] == 3
    assert body["messages"][0]["failoverOnStatuses"] == ["NoAnswer"]


def test_routee_provider_refuses_voice_and_moves_on(api: ApiSession, e2e_setup: str) -> None:
    if e2e_setup != "routee":
        pytest.skip("the embedded sandbox places calls")
    to = UK + "0"
    sent = send(api, voice_step(to, 1), sms_step(to, 2))
    body = wait_ended(api, sent["trackingId"], ["Failed", "Delivered"])
    call = body["messages"][0]
    assert "voice" in call["status"]["reason"]["description"]
    assert call["price"] is None
    assert body["status"] == "Succeeded"
    assert body["terminationChannel"] == "Sms"


def test_multipart_sms_has_one_message_per_part(api: ApiSession) -> None:
    to = number(2)
    sent = send(api, viber_step(to, 1), sms_step(to, 2, body=LONG_BODY))
    body = wait_ended(
        api, sent["trackingId"], ["UNDELIVERED", "Delivered", "Delivered", "Delivered"]
    )
    parts = body["messages"][1:]
    assert [p["part"] for p in parts] == [1, 2, 3]
    assert {p["parts"] for p in parts} == {3}
    assert len({p["messageId"] for p in parts}) == 1
    assert len({p["smsId"] for p in parts}) == 3
    assert [p["price"] for p in parts] == pytest.approx([SMS] * 3)
    assert all(p["body"] == LONG_BODY for p in parts)
    assert all(isinstance(p["latency"], int) for p in parts)
    assert body["totalPrice"] == pytest.approx(VIBER + 3 * SMS)
    # The flow answers to the SMS's message id as well.
    by_message = api.get(f"/failover/tracking/{parts[0]['messageId']}").json()
    assert by_message["trackingId"] == sent["trackingId"]


def test_viber_failover_statuses_limit_the_failover(api: ApiSession) -> None:
    to = number(2)  # Viber UNDELIVERED
    sent = send(api, viber_step(to, 1, failoverOnStatuses=["expired"]), sms_step(to, 2))
    body = wait_ended(api, sent["trackingId"], ["UNDELIVERED"])
    assert body["status"] == "Failed"
    assert body["statusCode"] == 3
    assert body["terminationChannel"] == "Viber"


def test_expire_on_delivery(api: ApiSession) -> None:
    to = number(4)  # Viber DELIVERED, never SEEN
    sent = send(api, viber_step(to, 1, expireOnDelivery=True), sms_step(to, 2))
    body = wait_ended(api, sent["trackingId"], ["EXPIRED", "Delivered"])
    viber = body["messages"][0]
    assert viber["expireOnDelivery"] is True
    assert viber["expiredOnDeliveryAt"] is not None
    assert body["status"] == "Succeeded"
    assert body["terminationChannel"] == "Sms"


def test_otp_flows_are_trackable_here(api: ApiSession) -> None:
    sent = api.post("/otp/send-failover", viber_sms_flow(2)).json()
    body = wait_ended(api, sent["flowId"], ["UNDELIVERED", "Delivered"])
    assert body["originatingService"] == "FailoverOtp"
    assert body["trackingId"] == sent["flowId"]
    assert [m["type"] for m in body["messages"]] == ["Viber", "Sms"]
    assert body["messages"][0]["ttl"] == 2  # 120 seconds
    assert body["totalPrice"] == pytest.approx(VIBER + SMS)


def test_callback_is_echoed(api: ApiSession) -> None:
    # Nothing leaves loopback: the receiver's URL is a literal loopback address (the test
    # servers allow it), which the send-time guard never looks up, whereas a name such as
    # example.com would have the service ask DNS.
    hook = ThreadedReceiver().start()
    try:
        callback = {"url": hook.url, "strategy": "OnCompletion"}
        sent = send(api, sms_step(number(0), 1), callback=callback)
        assert sent["callback"] == callback
        # Delivered before the receiver goes away, so the server retries nothing afterwards.
        wait_until(hook.accepted, what="the OnCompletion webhook")
    finally:
        hook.close()


@pytest.mark.parametrize(
    "body",
    [
        {"flow": []},
        {"flow": [{"type": "Email", "to": "+306912345670", "order": 1}]},
        {"flow": [{**sms_step(number(0)), "ttl": 0}]},
        {"flow": [{**sms_step(number(0)), "ttl": 1441}]},
        {"flow": [viber_step(number(0), ttl=0.25)]},
        {"flow": [viber_step(number(0), ttl=12.34)]},
        {"flow": [viber_step(number(0), templateId="0aac888f-2ee2-4112-9659-1755a951966a")]},
        {"flow": [viber_step(number(0), failoverOnStatuses=["Busy"])]},
        {"flow": [sms_step(number(0), failoverOnStatuses=["DELIVERED"])]},
        {"flow": [voice_step(number(0), failoverOnStatuses=["Expired"])]},
        {"flow": [voice_step(number(0), dialPlan={"verbs": [{"type": "DIAL"}]})]},
        {"flow": [viber_step(number(0), 1), sms_step(number(0), 1)]},
        {"flow": [sms_step("+123")]},
        {
            "flow": [sms_step(number(0))],
            "callback": {"url": "http://127.0.0.1/", "strategy": "x"},
        },
        {"flow": [sms_step(number(0))], "callback": {"strategy": "OnChange"}},
        [sms_step(number(0))],
    ],
)
def test_bad_sends_are_422(api: ApiSession, body: Any) -> None:
    answer = api.post("/failover", body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "validation_failed"


def test_unknown_tracking_is_404(api: ApiSession) -> None:
    answer = api.get("/failover/tracking/no-such-flow")
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_endpoints_need_a_token(server: ServerProcess) -> None:
    for method, path in [
        ("POST", "/failover"),
        ("GET", "/failover/tracking/abc"),
        ("POST", "/failover/tracking"),
    ]:
        answer = httpx.request(method, server.url + path, json=[])
        assert answer.status_code == 401, (method, path)


# --------------------------------------------------------------------------- search


@pytest.fixture(scope="module")
def search_api(server: ServerProcess) -> Iterator[ApiSession]:
    """An application of its own, so the search sees exactly the flows made for it."""
    app_id, secret = create_application(server.env["FOTP_DATABASE_URL"], "search")
    session = ApiSession(server.url, app_id, secret)
    yield session
    session.close()


@pytest.fixture(scope="module")
def searched(search_api: ApiSession) -> dict[str, str]:
    """Five flows, created in this order (the search lists them newest first)."""
    ids: dict[str, str] = {}
    # A: Viber UNDELIVERED, SMS Delivered: Succeeded on Sms.
    ids["A"] = send(search_api, viber_step(number(2)), sms_step(number(2)))["trackingId"]
    # B: one call, answered: Succeeded on Voice (Failed on Voice with the Routee provider).
    ids["B"] = send(search_api, voice_step(UK + "0", 1))["trackingId"]
    # C: SMS only, Undelivered: Failed on Sms.
    ids["C"] = send(search_api, sms_step(number(3), 1))["trackingId"]
    # D: an OTP flow, Viber SEEN: Succeeded on Viber.
    ids["D"] = search_api.post("/otp/send-failover", viber_sms_flow(0)).json()["flowId"]
    # E: Viber waiting for a day (24 minutes of real time): InProgress.
    ids["E"] = send(search_api, viber_step(number(1), ttl=1440), sms_step(number(1)))["trackingId"]
    for name in "ABC":
        wait_ended(search_api, ids[name])
    wait_ended(search_api, ids["D"], ["SEEN"])
    return ids


def search(api: ApiSession, filters: Any = None, **params: Any) -> tuple[int, dict[str, Any]]:
    answer = api.http.post("/failover/tracking", params=params, json=filters)
    body: dict[str, Any] = answer.json()
    return answer.status_code, body


def names(searched: dict[str, str], page: dict[str, Any]) -> str:
    by_id = {v: k for k, v in searched.items()}
    return "".join(by_id[item["trackingId"]] for item in page["content"])


# Expected flows, newest first; a pair is (embedded sandbox, Routee provider) where Voice differs.
SEARCHES: list[tuple[list[dict[str, str]], str | tuple[str, str]]] = [
    ([], "EDCBA"),
    ([{"fieldName": "type", "searchOperator": "is", "searchTerm": "Voice"}], "B"),
    ([{"fieldName": "type", "searchOperator": "is_not", "searchTerm": "Viber"}], "CB"),
    ([{"fieldName": "type", "searchTerm": "sms"}], "CA"),  # default operator: is
    ([{"fieldName": "to", "searchOperator": "is", "searchTerm": number(2)}], "A"),
    ([{"fieldName": "to", "searchOperator": "is", "searchTerm": number(2)[1:]}], "A"),
    ([{"fieldName": "to", "searchOperator": "is_not", "searchTerm": number(2)}], "EDCB"),
    ([{"fieldName": "to", "searchOperator": "contains", "searchTerm": "91234567"}], "EDCA"),
    ([{"fieldName": "to", "searchOperator": "starts_with", "searchTerm": "+4474"}], "B"),
    ([{"fieldName": "to", "searchOperator": "ends_with", "searchTerm": "3"}], "C"),
    ([{"fieldName": "to", "searchOperator": "ends_with", "searchTerm": "0"}], "DB"),
    ([{"fieldName": "status", "searchOperator": "is", "searchTerm": "Succeeded"}], ("DBA", "DA")),
    ([{"fieldName": "status", "searchOperator": "is", "searchTerm": "failed"}], ("C", "CB")),
    ([{"fieldName": "status", "searchOperator": "is", "searchTerm": "InProgress"}], "E"),
    ([{"fieldName": "status", "searchOperator": "is", "searchTerm": "Queued"}], ""),
    (
        [{"fieldName": "status", "searchOperator": "is_not", "searchTerm": "Succeeded"}],
        ("EC", "ECB"),
    ),
    ([{"fieldName": "terminationChannel", "searchOperator": "is", "searchTerm": "Sms"}], "CA"),
    ([{"fieldName": "terminationChannel", "searchTerm": "Voice"}], "B"),
    ([{"fieldName": "terminationChannel", "searchTerm": "Viber"}], "D"),
    ([{"fieldName": "TerminationChannel", "searchOperator": "IS_NOT", "searchTerm": "sMs"}], "EDB"),
    (
        [
            {"fieldName": "to", "searchOperator": "contains", "searchTerm": "3069"},
            {"fieldName": "type", "searchOperator": "is_not", "searchTerm": "Voice"},
        ],
        "EDCA",
    ),
]


def test_every_operator(search_api: ApiSession, searched: dict[str, str], e2e_setup: str) -> None:
    for filters, expectation in SEARCHES:
        if isinstance(expectation, tuple):
            expected = expectation[1] if e2e_setup == "routee" else expectation[0]
        else:
            expected = expectation
        status, page = search(search_api, filters)
        assert status == 200, page
        assert names(searched, page) == expected, filters
        assert page["totalElements"] == len(expected), filters


def test_search_items_are_trackings(search_api: ApiSession, searched: dict[str, str]) -> None:
    _, page = search(search_api, [])
    by_id = {item["trackingId"]: item for item in page["content"]}
    for name, tracking_id in searched.items():
        item = by_id[tracking_id]
        assert set(item) == {
            "trackingId",
            "messages",
            "terminationChannel",
            "status",
            "statusCode",
            "totalPrice",
            "originatingService",
            "applicationId",
            "createdAt",
            "updatedAt",
        }
        assert item["originatingService"] == ("FailoverOtp" if name == "D" else "Failover")
    assert by_id[searched["E"]]["terminationChannel"] is None


def test_paging(search_api: ApiSession, searched: dict[str, str]) -> None:
    pages = [search(search_api, [], page=n, size=2)[1] for n in range(4)]
    assert [names(searched, p) for p in pages] == ["ED", "CB", "A", ""]
    for number_, page in enumerate(pages):
        assert page["number"] == number_
        assert page["size"] == 2
        assert page["totalPages"] == 3
        assert page["totalElements"] == 5
        assert page["numberOfElements"] == len(page["content"])
        assert page["first"] is (number_ == 0)
        assert page["last"] is (number_ >= 2)
    _, one = search(search_api, [], size=1)
    assert (one["totalPages"], one["numberOfElements"], one["last"]) == (5, 1, False)
    _, default = search(search_api, [])
    assert (default["size"], default["number"]) == (10, 0)
    _, no_body = search(search_api, None)
    assert names(searched, no_body) == "EDCBA"


def test_date_range(search_api: ApiSession, searched: dict[str, str]) -> None:
    now = datetime.now(UTC)
    hour = timedelta(hours=1)

    def minute(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%MZ")

    _, page = search(search_api, [], dateStart=minute(now - hour), dateEnd=minute(now + hour))
    assert names(searched, page) == "EDCBA"
    _, page = search(search_api, [], dateStart=minute(now + hour))
    assert page["totalElements"] == 0
    _, page = search(search_api, [], dateEnd=minute(now - hour))
    assert page["totalElements"] == 0
    _, created = search(search_api, [{"fieldName": "type", "searchTerm": "Voice"}])
    b_created = created["content"][0]["createdAt"]
    _, page = search(search_api, [], dateStart=b_created)  # inclusive
    assert names(searched, page) == "EDCB"
    _, page = search(search_api, [], dateEnd=b_created)  # exclusive
    assert names(searched, page) == "A"


@pytest.mark.parametrize(
    ("filters", "params", "status"),
    [
        ([{"fieldName": "phone", "searchTerm": "1"}], {}, 422),
        ([{"fieldName": "to", "searchOperator": "like", "searchTerm": "1"}], {}, 422),
        ([{"fieldName": "type", "searchOperator": "contains", "searchTerm": "Sms"}], {}, 422),
        ([{"fieldName": "status", "searchOperator": "ends_with", "searchTerm": "ed"}], {}, 422),
        ([{"fieldName": "status", "searchTerm": "Delivered"}], {}, 422),
        ([{"fieldName": "type", "searchTerm": "ViberOtp"}], {}, 422),
        ([{"fieldName": "to", "searchTerm": "+"}], {}, 422),
        ([{"fieldName": "to"}], {}, 422),
        ([{"searchTerm": "Sms"}], {}, 422),
        ([{"fieldName": "to", "searchTerm": "1", "extra": 1}], {}, 422),
        ({"fieldName": "to", "searchTerm": "1"}, {}, 422),
        ("to", {}, 422),
        ([], {"dateStart": "yesterday"}, 422),
        ([], {"dateEnd": "2025-02-30T00:00Z"}, 422),
        ([], {"dateStart": "2025-05-06T00:00Z", "dateEnd": "2025-05-05T00:00Z"}, 422),
        ([], {"size": 0}, 422),
        ([], {"size": 2**31}, 422),  # beyond the document's int32
        ([], {"size": "ten"}, 422),
        ([], {"page": -1}, 422),
    ],
)
def test_bad_searches_are_4xx(
    search_api: ApiSession, filters: Any, params: dict[str, Any], status: int
) -> None:
    code, body = search(search_api, filters, **params)
    assert code == status, body
    assert body["code"] == "validation_failed"
    assert body["message"]


@pytest.mark.parametrize("size", [201, 5000, 2**31 - 1])
def test_a_page_size_above_200_is_capped(search_api: ApiSession, size: int) -> None:
    # The document only asks for size >= 1: a larger page is served capped, as Spring does.
    code, page = search(search_api, [], size=size)
    assert code == 200, page
    assert page["size"] == 200


def test_malformed_json_is_400(search_api: ApiSession) -> None:
    answer = search_api.http.post(
        "/failover/tracking", content=b"[{", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "malformed_json"


def test_applications_are_isolated(
    server: ServerProcess, search_api: ApiSession, searched: dict[str, str]
) -> None:
    app_id, secret = create_application(server.env["FOTP_DATABASE_URL"], "outsider")
    outsider = ApiSession(server.url, app_id, secret)
    try:
        for tracking_id in searched.values():
            assert outsider.get(f"/failover/tracking/{tracking_id}").status_code == 404
        status, page = search(outsider, [])
        assert status == 200
        assert page["totalElements"] == 0
        assert page["content"] == []
        status, page = search(outsider, [{"fieldName": "to", "searchTerm": number(2)}])
        assert page["totalElements"] == 0
    finally:
        outsider.close()
