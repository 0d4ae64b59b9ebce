"""Issue 15.11: error bodies use the documented codes and never echo a large input back; and
15.4: a body over the limit is a 413 before it is read whole.

The request boundary does not depend on the database: these run on SQLite only.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.support.asgi_app import InProcessApi, in_process_api
from tests.support.payloads import viber_sms_flow

JSON = {"Content-Type": "application/json"}
LIMIT = 65_536


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[InProcessApi]:
    async with in_process_api(f"sqlite:///{tmp_path}/failover-otp.db") as api:
        yield api


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"flow": [{"label": "\xff\xfe"}]}', id="not UTF-8"),
        pytest.param(b"[" * 30_000 + b"]" * 30_000, id="nested past the parser's depth"),
    ],
)
async def test_a_body_that_does_not_parse_is_malformed_json(api: InProcessApi, raw: bytes) -> None:
    """FastAPI raises a bare 400 for these, which used to answer code ``http_error``."""
    answer = await api.client.post("/otp/send-failover", content=raw, headers=JSON)
    assert answer.status_code == 400
    assert answer.json()["code"] == "malformed_json"


async def test_validation_errors_do_not_echo_large_inputs(api: InProcessApi) -> None:
    huge = "y" * 20_000
    answers = [
        # Our own message quoting the value.
        await api.client.get("/otp/failover", params={"status": huge}),
        # Pydantic quoting it (the discriminator tag) in its msg.
        await api.client.post("/otp/send-failover", json={"flow": [{"type": huge}]}),
        # A key named by the loc of an unknown field.
        await api.client.post("/failover", json={"flow": [], huge: 1}),
        await api.client.get(f"/failover/tracking/{huge[:8000]}"),
        await api.client.post(
            "/failover",
            json={
                "flow": [
                    {
                        "type": "Sms",
                        "from": "MyBrand",
                        "to": "+306912345671",
                        "order": 1,
                        "message": {"body": "hi"},
                        "failoverOnStatuses": [huge[:30]],
                    }
                ]
            },
        ),
    ]
    for answer in answers:
        assert answer.status_code in (404, 422), answer.text[:300]
        assert len(answer.content) < 2_000, answer.text[:300]
        assert "y" * 400 not in answer.text
        assert answer.json()["code"] in ("validation_failed", "not_found")


async def test_a_declared_length_over_the_limit_is_refused_unread(api: InProcessApi) -> None:
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 1
            yield b" " * 1024

    answer = await api.client.post(
        "/otp/send-failover",
        content=body(),
        headers={**JSON, "Content-Length": str(50 * 1024 * 1024)},
    )
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"
    assert answer.json()["detail"] == [{"limit": LIMIT}]
    assert answer.headers["connection"] == "close"
    assert pulled == 0
    assert await api.stored() == {"flows": 0, "rate_counters": 0}


async def test_a_streamed_body_is_counted_as_it_arrives(api: InProcessApi) -> None:
    """Chunked, no Content-Length: refused once the limit is passed, the rest never read."""
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        while pulled < 50 * 1024:  # 50 MB, if anyone read it all
            pulled += 1
            yield b" " * 1024

    answer = await api.client.post("/otp/send-failover", content=body(), headers=JSON)
    assert answer.status_code == 413
    assert pulled <= LIMIT // 1024 + 2
    assert await api.stored() == {"flows": 0, "rate_counters": 0}


async def test_a_body_at_the_limit_passes(api: InProcessApi) -> None:
    body = viber_sms_flow(1)
    raw = json.dumps(body).encode()
    padded = raw[:-1] + b" " * (LIMIT - len(raw)) + b"}"
    assert len(padded) == LIMIT
    answer = await api.client.post("/otp/send-failover", content=padded, headers=JSON)
    assert answer.status_code == 200, answer.text
    over = raw[:-1] + b" " * (LIMIT + 1 - len(raw)) + b"}"
    answer = await api.client.post("/otp/send-failover", content=over, headers=JSON)
    assert answer.status_code == 413


async def test_the_limit_is_a_setting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/failover-otp.db"
    async with in_process_api(url, max_request_bytes=4096) as api:
        answer = await api.client.post("/otp/verify", json={"flowId": "x" * 5000, "code": "1"})
        assert answer.status_code == 413
        assert answer.json()["detail"] == [{"limit": 4096}]
