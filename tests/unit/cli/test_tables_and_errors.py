"""What the API commands print: whole ids at any width, an error told once, refusals grouped."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from rich.console import Console
from typer.testing import CliRunner

from failover_otp.cli.api_access import Target, explain
from failover_otp.cli.bulk_send import BulkOutcome, summary_table
from failover_otp.cli.main import app
from failover_otp.cli.tables import deliveries_table, trackings_table
from failover_otp.client import (
    ApiConnectionError,
    DeliveryPage,
    RateLimited,
    SendAnswer,
    TrackingPage,
)
from failover_otp.client.errors import error_for

IDS = [str(uuid.uuid4()) for _ in range(3)]


def _render(renderable: object, width: int) -> list[str]:
    out = Console(width=width, record=True, color_system=None, file=io.StringIO())
    out.print(renderable)
    return out.export_text().splitlines()


def _page() -> DeliveryPage:
    row = {
        "role": "primary",
        "channel": "viber",
        "status": "EXPIRED",
        "phone_number": "306912345671",
        "created_at": "2026-02-16T12:00:00Z",
        "label": "a rather long label that wants room",
        "price": 0.0093,
        "flow_status": "Succeeded",
    }
    results = [{**row, "flowId": i, "trackingId": i} for i in IDS]
    return DeliveryPage.from_json({"total": 3, "limit": 50, "offset": 0, "results": results})


def _trackings() -> TrackingPage:
    message = {
        "type": "Viber",
        "order": 1,
        "failoverOnStatuses": ["Expired"],
        "to": "+306912345671",
        "status": {"name": "Delivered", "reason": {"detailedStatus": None}},
    }
    tracking = {
        "messages": [message, {**message, "type": "Sms", "order": 2}],
        "terminationChannel": "Viber",
        "status": "Succeeded",
        "totalPrice": 0.0093,
        "originatingService": "failover",
        "applicationId": "app",
        "createdAt": "2026-02-16T12:00:00Z",
        "updatedAt": "2026-02-16T12:00:01Z",
    }
    content = [{**tracking, "trackingId": i} for i in IDS]
    page = {"totalPages": 1, "totalElements": 3, "number": 0, "size": 20}
    return TrackingPage.from_json(
        {**page, "content": content, "numberOfElements": 3, "first": True, "last": True}
    )


@pytest.mark.parametrize("width", [80, 100, 140])
def test_ids_are_printed_whole_at_any_width(width: int) -> None:
    for table in (deliveries_table(_page()), trackings_table(_trackings())):
        lines = _render(table, width)
        assert all(len(line) <= width for line in lines)
        for flow_id in IDS:
            assert any(flow_id in line for line in lines), (width, flow_id, lines)


def _target(demo_file: str | None = None) -> Target:
    return Target("http://127.0.0.1:9123", "--url", "app", "secret", demo_file)


def test_an_error_is_told_once_with_its_details_not_the_whole_body() -> None:
    body = {
        "code": "validation_failed",
        "message": "flow.0.to: not a valid phone number",
        "detail": [{"loc": ["body", "flow", 0, "to"], "msg": "not a valid phone number"}],
    }
    lines = explain(error_for(422, body), _target())
    text = "\n".join(lines)
    assert text.count("not a valid phone number") == 2  # the message, then the field's line
    assert lines[1] == "  body.flow.0.to: not a valid phone number"
    assert "{" not in text
    assert "validation_failed" not in text


def test_a_connection_error_names_the_url_and_where_it_came_from() -> None:
    import httpx

    error = ApiConnectionError(httpx.ConnectError("refused"), "http://127.0.0.1:9123")
    text = "\n".join(explain(error, _target()))
    assert "cannot reach http://127.0.0.1:9123" in text
    assert "no service answered at http://127.0.0.1:9123 (--url)" in text


def test_a_401_with_the_demo_credentials_says_so() -> None:
    error = error_for(401, {"code": "unauthorized", "message": "bad credentials"})
    text = "\n".join(explain(error, _target("data/demo-credentials.json")))
    assert "refused the demo credentials of data/demo-credentials.json" in text


def test_refusals_of_one_kind_are_one_row() -> None:
    limited = [
        error_for(
            429,
            {
                "code": "rate_limited",
                "message": f"too many sends (number_per_10min): retry in {n} s",
            },
            {"Retry-After": str(n)},
        )
        for n in range(19)
    ]
    capped = error_for(429, {"code": "spend_cap_reached", "message": "daily spend cap reached"})
    answer = SendAnswer.from_json(
        {"flowId": "f", "status": "InProgress", "type": "Viber", "flow": [],
         "createdAt": "2026-02-16T12:00:00Z"}
    )  # fmt: skip
    outcome = BulkOutcome(answers=[answer] * 31, errors=[*limited, capped])
    assert isinstance(limited[0], RateLimited)
    lines = [line for line in _render(summary_table(outcome), 200) if "│" in line]
    assert len(lines) == 1 + 2  # InProgress, and two kinds of refusal
    assert any("HTTP 429 rate_limited" in line and "│ 19" in line for line in lines)
    assert any("HTTP 429 spend_cap_reached" in line and "│ 1 " in line for line in lines)


def test_send_help_tells_the_default_the_command_has() -> None:
    result = CliRunner().invoke(app, ["send", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "(default: none, the service generates one" in " ".join(result.output.split())
    assert "123456" not in result.output


def test_the_bulk_json_output_keeps_the_raw_answers() -> None:
    raw = {"flowId": "f", "status": "InProgress", "type": "Viber", "flow": [],
           "createdAt": "2026-02-16T12:00:00Z", "later": "field"}  # fmt: skip
    assert json.loads(json.dumps(SendAnswer.from_json(raw).raw)) == raw
