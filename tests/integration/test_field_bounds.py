"""Issue 15.4: every stored free-text field has a bound, and what passes through to the provider
(template parameters, SMS options) is kept to what the encoder can store: a clear 422 instead of
a 500 (an integer past 64 bits, or nesting past the JSON encoder's depth, crashed the send after
it was counted) or an unbounded row.

The schemas do not depend on the database (the crash was the JSON encoder's): SQLite only.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.asgi_app import InProcessApi, in_process_api
from tests.support.payloads import viber_sms_flow

from failover_otp.web.input_bounds import MAX_EXTRA_FIELDS, MAX_EXTRA_TEXT


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[InProcessApi]:
    async with in_process_api(f"sqlite:///{tmp_path}/failover-otp.db") as api:
        yield api


def _otp(**viber_extra: Any) -> dict[str, Any]:
    body = viber_sms_flow(1)
    body["flow"][0].update(viber_extra)
    return body


REFUSED = {
    "integer past 64 bits": (
        "/otp/send-failover",
        '{"codeValidityTime": 123456789012345678901234567890}',
    ),
    "NaN": ("/otp/send-failover", '{"codeValidityTime": NaN}'),
    "infinity": ("/otp/send-failover", '{"codeValidityTime": 1e999}'),
    "nested 300 deep": ("/otp/send-failover", '{"x": ' + "[" * 300 + "]" * 300 + "}"),
    "nested 4 deep": ("/otp/send-failover", '{"x": {"a": {"b": {"c": {}}}}}'),
    "too many fields": (
        "/otp/send-failover",
        json.dumps({f"p{i}": "v" for i in range(MAX_EXTRA_FIELDS + 1)}),
    ),
    "long text": ("/otp/send-failover", json.dumps({"pinType": "x" * (MAX_EXTRA_TEXT + 1)})),
    "long name": ("/otp/send-failover", json.dumps({"p" * 65: "v"})),
    "long array": ("/otp/send-failover", json.dumps({"x": list(range(21))})),
}


def _raw_otp(extra_json: str) -> bytes:
    """The OTP body with ``extra_json``'s fields merged into its Viber step, as raw JSON (NaN and
    huge integers cannot come from ``json.dumps`` of Python values)."""
    body = json.dumps(viber_sms_flow(1))
    anchor = '"type": "ViberOtp", '
    assert anchor in body
    return body.replace(anchor, anchor + extra_json.strip()[1:-1] + ", ", 1).encode()


@pytest.mark.parametrize("case", list(REFUSED))
async def test_pass_through_fields_are_bounded(api: InProcessApi, case: str) -> None:
    path, extra = REFUSED[case]
    answer = await api.client.post(
        path, content=_raw_otp(extra), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text[:300]
    assert answer.json()["code"] == "validation_failed"
    assert await api.stored() == {"flows": 0, "rate_counters": 0}


async def test_template_parameters_within_bounds_pass(api: InProcessApi) -> None:
    body = _otp(
        businessPlatformName="Acme Bank",
        codeValidityTime=10,
        pinType="login code",
        weight=0.5,
        options={"a": [1, {"b": None}]},
    )
    body["flow"][1]["message"]["urlShortener"] = {"urlValidity": 60}
    answer = await api.client.post("/otp/send-failover", json=body)
    assert answer.status_code == 200, answer.text
    echoed = answer.json()["flow"][0]
    assert echoed["codeValidityTime"] == 10
    assert echoed["options"] == {"a": [1, {"b": None}]}


async def test_viber_video_extras_are_bounded(api: InProcessApi) -> None:
    """The standard API refuses unknown fields everywhere but the video attachment, whose
    fields Routee does not name."""
    video = {"videoUrl": "https://example.com/v.mp4", "caption": "y" * (MAX_EXTRA_TEXT + 1)}
    step = {
        "type": "Viber",
        "to": "+306912345671",
        "order": 1,
        "senderInfoTrackingId": "s",
        "text": "hi",
        "viberVideo": video,
    }
    answer = await api.client.post("/failover", json={"flow": [step]})
    assert answer.status_code == 422, answer.text[:300]
    assert await api.stored() == {"flows": 0, "rate_counters": 0}
    video["caption"] = "a short caption"
    answer = await api.client.post("/failover", json={"flow": [step]})
    assert answer.status_code == 200, answer.text[:300]
