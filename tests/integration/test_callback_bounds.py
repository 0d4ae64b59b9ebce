"""Issue 15.3 at the provider's door: a Routee delivery report with an overlong carrier text or
an absurd number is stored (cut to what the columns keep), never a 500 that loses the status.

Before: PostgreSQL refused a ``detailedStatus`` longer than its 64-character column, and a price
past 64 bits overflowed the spend counter, on both databases; each answered 500 (Routee then
retries the same report, which fails the same way).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.support.asgi_app import InProcessApi, in_process_api
from tests.support.payloads import viber_sms_flow


async def _sent_viber(api: InProcessApi) -> tuple[str, str]:
    answer = await api.client.post("/otp/send-failover", json=viber_sms_flow(1))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["flowId"], body["flow"][0]["trackingId"]


async def _report(api: InProcessApi, raw: str) -> dict[str, Any]:
    token = api.services.callback_token
    answer = await api.client.post(
        f"/callbacks/routee/{token}",
        content=raw.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text[:300]
    result: dict[str, Any] = answer.json()
    return result


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param('"price": 123456789012345678901234567890', id="price past 64 bits"),
        pytest.param('"price": "1e999"', id="infinite price"),
    ],
)
async def test_absurd_numbers_are_left_out(database_url: str, extra: str) -> None:
    async with in_process_api(database_url) as api:
        flow_id, message_id = await _sent_viber(api)
        head = json.dumps({"messageId": message_id, "status": {"name": "Delivered"}})
        raw = head[:-1] + ", " + extra + "}"  # raw JSON: numbers Python would not write
        assert await _report(api, raw) == {"accepted": 1}
        story = (await api.client.get(f"/otp/failover/{flow_id}")).json()
        step = story["steps"][0]
        assert step["status"] == "DELIVERED"
        assert step["price"] is None or step["price"] < 1


async def test_long_carrier_text_is_cut_to_its_column(database_url: str) -> None:
    async with in_process_api(database_url) as api:
        flow_id, message_id = await _sent_viber(api)
        raw = json.dumps(
            {
                "messageId": message_id,
                "status": {"name": "Delivered", "reason": {"detailedStatus": "D" * 50_000}},
            }
        )
        assert await _report(api, raw) == {"accepted": 1}
        story = (await api.client.get(f"/otp/failover/{flow_id}")).json()
        step = story["steps"][0]
        assert step["status"] == "DELIVERED"
        assert step["detailed_status"] == "D" * 64
