"""The client's answers are typed models and its errors typed exceptions (issue 17, item 8).

This file is checked by mypy (``make check``): the attribute uses below are typed. The last test
runs mypy on code with a typo and expects it to fail.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from failover_otp.client import (
    ApiClientError,
    CountryNotAllowed,
    DeliveryPage,
    FlowStory,
    IdempotencyKeyReused,
    NotFound,
    RateLimited,
    SendAnswer,
    ServerError,
    SpendCapReached,
    TrackingPage,
    Unauthorized,
    ValidationFailed,
)
from failover_otp.client.errors import error_for

# The seed's example answer of GET /otp/failover/{id} (otp-failover-tracking.txt, 5.1).
SEED_STORY: dict[str, Any] = {
    "flowId": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    "status": "Succeeded",
    "statusCode": None,
    "total_cost": 0.0468,
    "steps": [
        {
            "trackingId": "550e8400-e29b-41d4-a716-446655440000",
            "role": "primary",
            "status": "EXPIRED",
            "channel": "viber",
            "phone_number": "306912345671",
            "created_at": "2026-02-16T12:00:00Z",
            "detailed_status": "Expired",
            "price": 0.0093,
        },
        {
            "trackingId": "660e8400-e29b-41d4-a716-446655440001",
            "role": "failover",
            "status": "queued",
            "channel": "sms",
            "phone_number": "306912345671",
            "failover_from_message_token": "550e8400-e29b-41d4-a716-446655440000",
            "created_at": "2026-02-16T12:02:00Z",
            "price": 0.0375,
        },
    ],
}


def test_a_story_is_settled_once_every_step_has_its_verdict() -> None:
    def story(flow_status: str, *step_statuses: str) -> FlowStory:
        steps = [{**SEED_STORY["steps"][0], "status": status} for status in step_statuses]
        return FlowStory.from_json({**SEED_STORY, "status": flow_status, "steps": steps})

    # An SMS Sent makes the flow Succeeded (the seed's rule), but its verdict is still to come.
    assert story("Succeeded", "EXPIRED", "sent").ended
    assert not story("Succeeded", "EXPIRED", "sent").settled
    assert not story("InProgress", "EXPIRED", "queued").settled
    assert story("Succeeded", "EXPIRED", "delivered").settled
    assert story("Failed", "FAILED", "undelivered").settled
    assert not story("Failed", "FAILED", "QUEUED").settled


def test_a_story_is_typed_and_still_reads_like_the_json() -> None:
    story = FlowStory.from_json(SEED_STORY)
    assert story.ended
    assert story.total_cost == pytest.approx(0.0468)
    failover = story.steps[1]
    assert failover.failover_from_message_token == story.steps[0].trackingId
    assert failover.created_at == datetime(2026, 2, 16, 12, 2, tzinfo=UTC)
    assert failover.latency_ms is None
    # The dictionary reads of earlier versions keep working, on the JSON as sent.
    assert story["steps"][1]["created_at"] == "2026-02-16T12:02:00Z"
    assert story.steps[0]["status"] == "EXPIRED"
    assert story.get("missing", "default") == "default"
    assert "total_cost" in story
    assert story.raw is SEED_STORY


def test_fields_the_service_adds_later_are_kept() -> None:
    story = FlowStory.from_json({**SEED_STORY, "verifyAttempts": [{"status": "approved"}]})
    assert story.model_extra == {"verifyAttempts": [{"status": "approved"}]}


def test_pages_and_answers() -> None:
    page = DeliveryPage.from_json(
        {
            "total": 1,
            "totalExact": True,
            "limit": 50,
            "offset": 0,
            "results": [{**SEED_STORY["steps"][0], "flowId": "f", "flow_status": "Succeeded"}],
        }
    )
    assert page.results[0].flow_status == "Succeeded"
    sent = SendAnswer.from_json(
        {
            "flowId": None,
            "status": "Failed",
            "type": None,
            "flow": [],
            "createdAt": "2026-02-16T12:00:00Z",
            "statusCode": 1,
            "error": "insufficient balance",
        }
    )
    assert (sent.flowId, sent.statusCode, sent.error) == (None, 1, "insufficient balance")
    empty = TrackingPage.from_json(
        {
            "content": [],
            "totalPages": 0,
            "totalElements": 0,
            "number": 0,
            "size": 10,
            "numberOfElements": 0,
            "first": True,
            "last": True,
        }
    )
    assert empty.totalElementsExact


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "unauthorized", Unauthorized),
        (404, "not_found", NotFound),
        (422, "validation_failed", ValidationFailed),
        (422, "idempotency_key_reused", IdempotencyKeyReused),
        (422, "country_not_allowed", CountryNotAllowed),
        (429, "rate_limited", RateLimited),
        (429, "spend_cap_reached", SpendCapReached),
        (503, "unavailable", ServerError),
        (418, "teapot", ApiClientError),
    ],
)
def test_each_documented_error_has_its_class(
    status: int, code: str, kind: type[ApiClientError]
) -> None:
    error = error_for(status, {"code": code, "message": "m"}, {"Retry-After": "12"})
    assert type(error) is kind
    assert isinstance(error, ApiClientError)  # what earlier versions raised: still caught
    assert (error.status, error.code, error.message) == (status, code, "m")


def test_limits_tell_when_to_retry_and_validation_what_is_wrong() -> None:
    capped = error_for(429, {"code": "spend_cap_reached", "message": "cap"}, {"Retry-After": "60"})
    assert isinstance(capped, RateLimited)
    assert capped.retry_after == 60
    invalid = error_for(
        422, {"code": "validation_failed", "message": "m", "detail": [{"loc": ["body"]}]}
    )
    assert invalid.problems == [{"loc": ["body"]}]


def test_a_typo_fails_mypy(tmp_path: Path) -> None:
    source = tmp_path / "typo.py"
    source.write_text(
        "from failover_otp.client import FailoverOtpClient\n"
        "def check(api: FailoverOtpClient) -> str:\n"
        "    story = api.get_failover('f')\n"
        "    return story.stauts\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(source)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout
    assert '"FlowStory" has no attribute "stauts"' in result.stdout
