"""Routee delivery reports at ``/callbacks/routee/{token}``: duplicated, reordered and late
reports never move a step backwards; a wrong token or a malformed body never gets in."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.flows import wait_until_ended
from tests.support.payloads import routee_sms_report, viber_sms_flow
from tests.support.server import RELAXED_LIMITS_ENV, ApiSession, ServerProcess

TOKEN = RELAXED_LIMITS_ENV["FOTP_CALLBACK_TOKEN"]


def _viber(tracking_id: str, status: str) -> dict[str, Any]:
    return {"trackingId": tracking_id, "status": {"name": status, "reason": {}}}


_sms = routee_sms_report


def test_late_duplicated_and_reordered_reports_never_regress(
    server: ServerProcess, api: ApiSession
) -> None:
    sent = api.post("/otp/send-failover", viber_sms_flow(2)).json()
    story = wait_until_ended(api, sent["flowId"], step_statuses=["UNDELIVERED", "delivered"])
    viber, sms = (s["trackingId"] for s in story["steps"])
    reports = [
        _sms(sms, "Delivered"),  # duplicate
        _sms(sms, "Queued"),  # reordered: older than what we know
        _sms(sms, "Sent"),
        _viber(viber, "QUEUED"),
        _viber(viber, "DELIVERED"),  # late and contradicting a final status
        _sms(sms, "Undelivered"),
    ]
    url = f"{server.url}/callbacks/routee/{TOKEN}"
    for report in reports:
        answer = httpx.post(url, json=report)
        assert answer.status_code == 200, answer.text
    assert httpx.post(url, json=reports).status_code == 200  # a batch, as an array
    after = api.get(f"/otp/failover/{sent['flowId']}").json()
    assert [s["status"] for s in after["steps"]] == ["UNDELIVERED", "delivered"]
    assert after["status"] == "Succeeded"
    assert after["total_cost"] == story["total_cost"]


def test_wrong_token_is_not_found(server: ServerProcess) -> None:
    answer = httpx.post(f"{server.url}/callbacks/routee/not-the-token", json=_sms("x", "Delivered"))
    assert answer.status_code == 404


def test_malformed_report_is_refused_cleanly(server: ServerProcess) -> None:
    answer = httpx.post(
        f"{server.url}/callbacks/routee/{TOKEN}",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "malformed_callback"


def test_report_for_an_unknown_message_is_accepted_and_ignored(server: ServerProcess) -> None:
    answer = httpx.post(f"{server.url}/callbacks/routee/{TOKEN}", json=_sms("nobody", "Delivered"))
    assert answer.status_code == 200
