"""Issue 16 over HTTP: an SMS `Sent` followed by a final failure fails the flow (or fails it
over), whatever the order of the reports, on both APIs, and the customer's webhook hears of it.

The server runs at time scale 0.01 so the embedded sandbox's own SMS report (2 sandbox seconds
after acceptance) comes 200 s later: well after this module's reports, posted the way Routee
posts them to ``/callbacks/routee/{token}``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.payloads import number, routee_sms_report
from tests.support.server import RELAXED_LIMITS_ENV, ApiSession, ServerProcess, serve_args
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import ThreadedReceiver

TOKEN = RELAXED_LIMITS_ENV["FOTP_CALLBACK_TOKEN"]


@pytest.fixture(scope="module")
def server(e2e_setup: str, e2e_dir: Path, e2e_database_url: str) -> Iterator[ServerProcess]:
    """This module's own server (time scale 0.01) on the shared set-ups' databases."""
    if e2e_setup == "routee":
        pytest.skip("reports are posted here; the wire sandbox would report over them at once")
    proc = ServerProcess(args=[], workdir=e2e_dir)
    proc.env = {"FOTP_DATABASE_URL": e2e_database_url}
    proc.args = serve_args(proc.port, e2e_database_url, time_scale=0.01)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[ThreadedReceiver]:
    hook = ThreadedReceiver().start()
    yield hook
    hook.close()


def _post_reports(server: ServerProcess, message_id: str, statuses: list[str]) -> None:
    for status in statuses:
        answer = httpx.post(
            f"{server.url}/callbacks/routee/{TOKEN}", json=routee_sms_report(message_id, status)
        )
        assert answer.status_code == 200, answer.text


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    wait_until(condition, timeout, what=what)


def _sms_step(digit: int, order: int = 1) -> dict[str, Any]:
    return {
        "type": "Sms",
        "to": number(digit).lstrip("+"),
        "order": order,
        "ttl": 300,
        "from": "MyBrand",
        "message": {"body": "Your code is 482913"},
    }


ORDERS = [
    pytest.param(["Sent", "Undelivered"], id="sent-then-undelivered"),
    pytest.param(["Undelivered", "Sent"], id="undelivered-then-sent"),
    pytest.param(["Sent", "Sent", "Undelivered", "Undelivered", "Sent"], id="duplicates"),
]


@pytest.mark.parametrize("reports", ORDERS)
def test_otp_sms_flow_fails_whatever_the_report_order(
    server: ServerProcess, api: ApiSession, receiver: ThreadedReceiver, reports: list[str]
) -> None:
    sent = api.post(
        "/otp/send-failover", {"flow": [_sms_step(2)], "callback": {"url": receiver.url}}
    )
    assert sent.status_code == 200, sent.text
    flow_id = sent.json()["flowId"]
    story = api.get(f"/otp/failover/{flow_id}").json()
    assert [s["status"] for s in story["steps"]] == ["queued"]  # the seed's SMS casing
    message_id = story["steps"][0]["trackingId"]

    _post_reports(server, message_id, reports[:1])
    first = api.get(f"/otp/failover/{flow_id}").json()
    if reports[0] == "Sent":
        assert (first["status"], first["statusCode"]) == ("Succeeded", None)
        assert first["steps"][0]["status"] == "sent"

    _post_reports(server, message_id, reports[1:])
    final = api.get(f"/otp/failover/{flow_id}").json()
    assert (final["status"], final["statusCode"]) == ("Failed", 2)
    assert [s["status"] for s in final["steps"]] == ["undelivered"]

    # The customer's webhook hears the change like any other: its last story is the failure.
    def failed_arrived() -> bool:
        got = [r.json() for r in receiver.accepted() if r.json().get("flowId") == flow_id]
        return bool(got) and got[-1]["status"] == "Failed"

    _wait_for(failed_arrived, "the Failed webhook")
    stories = [r.json() for r in receiver.accepted() if r.json().get("flowId") == flow_id]
    if reports[0] == "Sent":
        assert [s["status"] for s in stories] == ["InProgress", "Succeeded", "Failed"]
    assert stories[-1]["statusCode"] == 2


@pytest.mark.parametrize("reports", ORDERS)
def test_standard_sms_flow_fails_whatever_the_report_order(
    server: ServerProcess, api: ApiSession, reports: list[str]
) -> None:
    answer = api.post("/failover", {"flow": [_sms_step(2)]})
    assert answer.status_code == 200, answer.text
    tracking_id = answer.json()["trackingId"]
    tracking = api.get(f"/failover/tracking/{tracking_id}").json()
    message_id = tracking["messages"][0]["messageId"]

    _post_reports(server, message_id, reports)
    final = api.get(f"/failover/tracking/{tracking_id}").json()
    assert (final["status"], final["statusCode"]) == ("Failed", 2)
    assert final["terminationChannel"] == "Sms"
    assert [m["status"]["name"] for m in final["messages"]] == ["Undelivered"]  # Routee's casing


def test_standard_sms_sent_then_undelivered_fails_over_to_the_next_channel(
    server: ServerProcess, api: ApiSession
) -> None:
    viber = {"type": "Viber", "to": number(2), "order": 2, "ttl": 10, "text": "Hello"}
    viber["senderInfoTrackingId"] = "Routeetest"
    answer = api.post("/failover", {"flow": [_sms_step(2), viber]})
    assert answer.status_code == 200, answer.text
    tracking_id = answer.json()["trackingId"]
    message_id = api.get(f"/failover/tracking/{tracking_id}").json()["messages"][0]["messageId"]

    _post_reports(server, message_id, ["Sent"])
    assert api.get(f"/failover/tracking/{tracking_id}").json()["status"] == "Succeeded"
    _post_reports(server, message_id, ["Undelivered"])

    def viber_sent() -> bool:
        messages = api.get(f"/failover/tracking/{tracking_id}").json()["messages"]
        return len(messages) == 2 and messages[1]["status"]["name"] == "QUEUED"

    _wait_for(viber_sent, "the Viber failover")
    final = api.get(f"/failover/tracking/{tracking_id}").json()
    assert final["status"] == "InProgress"
    assert final["messages"][0]["status"]["name"] == "Undelivered"
