"""All ten sandbox digits, driven over HTTP against the real server process."""

from __future__ import annotations

import pytest

from tests.e2e.flows import wait_until_ended
from tests.support.payloads import viber_sms_flow
from tests.support.server import ApiSession

VIBER, SMS = 0.0093, 0.0375

# digit: (send type, final flow status, statusCode, step statuses, total cost); the seed's
# example words Viber statuses upper-case and SMS ones lower-case.
EXPECTED = {
    0: ("Viber", "Succeeded", None, ["SEEN"], VIBER),
    1: ("Viber", "Succeeded", None, ["EXPIRED", "delivered"], VIBER + SMS),
    2: ("Viber", "Succeeded", None, ["UNDELIVERED", "delivered"], VIBER + SMS),
    3: ("Viber", "Failed", 2, ["FAILED", "undelivered"], VIBER + SMS),
    4: ("Viber", "Succeeded", None, ["DELIVERED"], VIBER),
    5: ("Viber", "Failed", 2, ["EXPIRED", "failed"], VIBER + SMS),
    6: ("Viber", "Succeeded", None, ["DELIVERED"], VIBER),
    7: ("Viber", "Succeeded", None, ["DELIVERED"], VIBER),
    8: ("Viber", "Failed", 1, ["UNDELIVERED", "unsent"], VIBER),
    9: ("Sms", "Succeeded", None, ["FAILED", "delivered"], SMS),
}


@pytest.mark.parametrize("digit", sorted(EXPECTED))
def test_digit_reaches_its_outcome(api: ApiSession, digit: int) -> None:
    send_type, status, code, step_statuses, cost = EXPECTED[digit]
    answer = api.post("/otp/send-failover", viber_sms_flow(digit))
    assert answer.status_code == 200, answer.text
    sent = answer.json()
    assert sent["status"] == "InProgress"
    assert sent["type"] == send_type
    assert sent["statusCode"] is None
    assert [s["order"] for s in sent["flow"]] == [1, 2]

    story = wait_until_ended(api, sent["flowId"], step_statuses=step_statuses)

    assert story["status"] == status
    assert story["statusCode"] == code
    assert [s["status"] for s in story["steps"]] == step_statuses
    assert story["total_cost"] == pytest.approx(cost)
    assert [s["role"] for s in story["steps"]] == ["primary", "failover"][: len(step_statuses)]
    if len(step_statuses) == 2:
        primary, failover = story["steps"]
        assert failover["failover_from_message_token"] == primary["trackingId"]
        assert failover["channel"] == "sms"
    assert story["steps"][0]["channel"] == "viber"


def test_digit_1_reproduces_the_seed_story(api: ApiSession) -> None:
    sent = api.post("/otp/send-failover", viber_sms_flow(1)).json()
    story = wait_until_ended(api, sent["flowId"])
    primary, failover = story["steps"]
    assert primary["status"] == "EXPIRED"
    assert primary["detailed_status"] == "Expired"
    assert primary["price"] == pytest.approx(0.0093)
    assert primary["phone_number"] == "306912345671"
    assert failover["role"] == "failover"
    assert failover["price"] == pytest.approx(0.0375)
    assert story["total_cost"] == pytest.approx(0.0468)
    assert story["status"] == "Succeeded"
    # The same story answers to either step's tracking id.
    for step in (primary, failover):
        assert api.get(f"/otp/failover/{step['trackingId']}").json()["flowId"] == story["flowId"]


@pytest.mark.parametrize(
    ("digit", "steps", "cost"),
    [(4, ["DELIVERED", "delivered"], VIBER + SMS), (0, ["SEEN"], VIBER)],
)
def test_failover_on_delivered(api: ApiSession, digit: int, steps: list[str], cost: float) -> None:
    """Delivered but unread within the ttl: the SMS goes too; seen in time: it does not."""
    sent = api.post("/otp/send-failover", viber_sms_flow(digit, failover_on_delivered=True)).json()
    story = wait_until_ended(api, sent["flowId"], step_statuses=steps)
    assert [s["status"] for s in story["steps"]] == steps
    assert story["status"] == "Succeeded"
    assert story["total_cost"] == pytest.approx(cost)


def test_list_filters(api: ApiSession) -> None:
    sent = api.post("/otp/send-failover", viber_sms_flow(2, label="checkout-e2e")).json()
    wait_until_ended(api, sent["flowId"])
    by_flow = api.get("/otp/failover", flow_id=sent["flowId"]).json()
    assert by_flow["total"] == 2
    assert {r["role"] for r in by_flow["results"]} == {"primary", "failover"}
    assert all(r["flowId"] == sent["flowId"] for r in by_flow["results"])
    tagged = api.get("/otp/failover", tag="checkout-e", status="delivered").json()
    assert tagged["total"] >= 1
    assert all(r["status"] == "delivered" for r in tagged["results"])
    assert api.get("/otp/failover", phone_number="91234567", limit=1).json()["limit"] == 1
    assert api.get("/otp/failover", limit=201).status_code == 422
