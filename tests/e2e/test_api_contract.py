"""Authentication, isolation and validation over HTTP: clear JSON errors, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.flows import wait_until_ended
from tests.support.payloads import viber_sms_flow
from tests.support.server import ApiSession, ServerProcess, cli_in_process, create_application


@pytest.fixture(scope="module")
def other_api(server: ServerProcess) -> Iterator[ApiSession]:
    app_id, secret = create_application(server.env["FOTP_DATABASE_URL"], "other")
    session = ApiSession(server.url, app_id, secret)
    yield session
    session.close()


def test_health_and_info_need_no_token(server: ServerProcess) -> None:
    assert httpx.get(server.url + "/health").json()["status"] == "ok"
    assert httpx.get(server.url + "/").json()["service"] == "failover-otp"


def test_token_endpoint(server: ServerProcess) -> None:
    app_id, secret = create_application(server.env["FOTP_DATABASE_URL"], "tokens")
    ok = httpx.post(
        server.url + "/oauth/token",
        auth=(app_id, secret),
        data={"grant_type": "client_credentials"},
    )
    assert ok.status_code == 200
    body = ok.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    assert set(body) >= {"access_token", "token_type", "expires_in", "scope"}
    wrong = httpx.post(
        server.url + "/oauth/token",
        auth=(app_id, "nope"),
        data={"grant_type": "client_credentials"},
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    grant = httpx.post(
        server.url + "/oauth/token", auth=(app_id, secret), data={"grant_type": "password"}
    )
    assert grant.status_code == 400
    no_basic = httpx.post(server.url + "/oauth/token", data={"grant_type": "client_credentials"})
    assert no_basic.status_code == 401


@pytest.mark.parametrize("path", ["/otp/failover", "/otp/failover/abc"])
@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic abc"])
def test_endpoints_need_a_valid_bearer(
    server: ServerProcess, path: str, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    answer = httpx.get(server.url + path, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"


def test_send_needs_a_bearer(server: ServerProcess) -> None:
    answer = httpx.post(server.url + "/otp/send-failover", json=viber_sms_flow(0))
    assert answer.status_code == 401


def test_another_application_sees_nothing(api: ApiSession, other_api: ApiSession) -> None:
    sent = api.post("/otp/send-failover", viber_sms_flow(2)).json()
    story = wait_until_ended(api, sent["flowId"])
    for any_id in [sent["flowId"], *(s["trackingId"] for s in story["steps"])]:
        foreign = other_api.get(f"/otp/failover/{any_id}")
        assert foreign.status_code == 404
        assert foreign.json()["code"] == "not_found"
        assert set(foreign.json()) == {"code", "message"}  # no trace of the flow's data
    assert other_api.get("/otp/failover", flow_id=sent["flowId"]).json()["total"] == 0


def test_unknown_flow_is_404(api: ApiSession) -> None:
    answer = api.get("/otp/failover/00000000-0000-0000-0000-000000000000")
    assert answer.status_code == 404


def _broken(mutate: Any) -> dict[str, Any]:
    body = viber_sms_flow(0)
    mutate(body)
    return body


INVALID = {
    "empty flow": {"flow": []},
    "no flow": {},
    "unknown type": _broken(lambda b: b["flow"][0].update(type="Telegram")),
    "bad phone": _broken(lambda b: b["flow"][0].update(to="+123")),
    "letters in phone": _broken(lambda b: b["flow"][0].update(to="hello")),
    "two numbers": _broken(lambda b: b["flow"][0].update(to=["+306912345670", "+306912345671"])),
    "short pin": _broken(lambda b: b["flow"][0].update(pin="12")),
    "long pin": _broken(lambda b: b["flow"][0].update(pin="12345678901")),
    # No pin at all is fine (the service generates the code); half a pin is not.
    "pin on one viber step only": _broken(
        lambda b: b["flow"].append({**b["flow"][0], "order": 3, "pin": None})
    ),
    "no template": _broken(lambda b: b["flow"][0].pop("templateId")),
    "no sender info": _broken(lambda b: b["flow"][0].pop("senderInfoTrackingId")),
    "order zero": _broken(lambda b: b["flow"][0].update(order=0)),
    "duplicate order": _broken(lambda b: b["flow"][1].update(order=1)),
    "ttl zero": _broken(lambda b: b["flow"][0].update(ttl=0)),
    "ttl too long": _broken(lambda b: b["flow"][0].update(ttl=10**7)),
    "no ttl": _broken(lambda b: b["flow"][0].pop("ttl")),
    "sms without body": _broken(lambda b: b["flow"][1].update(message={})),
    "sms without message": _broken(lambda b: b["flow"][1].pop("message")),
    "bad sender id": _broken(lambda b: b["flow"][1].update({"from": "A-very-long-sender"})),
    "callback without url": _broken(lambda b: b.update(callback={})),
    "callback bad url": _broken(lambda b: b.update(callback={"url": "not a url"})),
    "business name missing": _broken(
        lambda b: b["flow"][0].update(templateType="with_business_name")
    ),
    "flow not a list": {"flow": "Viber"},
    "body not an object": [],
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_requests_get_422(api: ApiSession, case: str) -> None:
    answer = api.post("/otp/send-failover", INVALID[case])
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "validation_failed"
    assert body["message"]


def test_malformed_json_gets_400(api: ApiSession) -> None:
    answer = api.http.post(
        "/otp/send-failover", content=b'{"flow": [', headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "malformed_json"


def test_unknown_list_status_gets_422(api: ApiSession) -> None:
    answer = api.get("/otp/failover", status="Teleported")
    assert answer.status_code == 422


def test_sms_first_and_array_destination(api: ApiSession) -> None:
    """Order decides the channel sequence, not array position; `to` may be a one-item array."""
    body = viber_sms_flow(2)
    body["flow"][0]["order"], body["flow"][1]["order"] = 2, 1
    body["flow"][0]["to"] = ["+306912345672"]
    sent = api.post("/otp/send-failover", body).json()
    assert sent["type"] == "Sms"
    story = wait_until_ended(api, sent["flowId"])
    assert [s["channel"] for s in story["steps"]] == ["sms"]
    assert story["status"] == "Succeeded"


def test_single_step_flow_rejected_everywhere_is_failed_at_send(api: ApiSession) -> None:
    body = viber_sms_flow(8)
    body["flow"] = [body["flow"][1]]  # SMS only, digit 8: insufficient balance
    sent = api.post("/otp/send-failover", body)
    assert sent.status_code == 200
    answer = sent.json()
    assert answer["status"] == "Failed"
    assert answer["statusCode"] == 1
    assert answer["flowId"] is None
    assert answer["type"] is None
    assert "balance" in answer["error"].lower()


def _send_and_list(session: ApiSession) -> tuple[int, int]:
    sent = session.post("/otp/send-failover", viber_sms_flow(1)).status_code
    return sent, session.get("/otp/failover").status_code


def test_disable_and_rotate_end_tokens_at_once(server: ServerProcess) -> None:
    """``apps disable`` / ``apps rotate-secret`` run outside the server (in the test process,
    as a command line would): the server refuses the tokens it has just honoured on the very
    next request, to send and to list."""
    database_url = server.env["FOTP_DATABASE_URL"]
    app_id, secret = create_application(database_url, "revoked")
    session = ApiSession(server.url, app_id, secret)
    try:
        assert _send_and_list(session) == (200, 200)
        assert _send_and_list(session) == (200, 200)
        cli_in_process("apps", "disable", app_id, "--database-url", database_url)
        assert _send_and_list(session) == (401, 401)
        with pytest.raises(httpx.HTTPStatusError):
            ApiSession(server.url, app_id, secret)
        cli_in_process("apps", "enable", app_id, "--database-url", database_url)
        assert _send_and_list(session) == (401, 401)  # enabling brings no old token back
    finally:
        session.close()

    fresh = ApiSession(server.url, app_id, secret)
    try:
        assert _send_and_list(fresh) == (200, 200)
        cli_in_process("apps", "rotate-secret", app_id, "--database-url", database_url)
        assert _send_and_list(fresh) == (401, 401)
    finally:
        fresh.close()
