"""Examples for the OpenAPI document: a request and an answer for every endpoint, and the
error answers. The bodies (the seeds' flow) are in ``openapi_example_bodies``. They are checked
against the routes' own request and response models (tests/unit/web/test_openapi.py), so an
example cannot drift from the API without a test failing.
"""

from __future__ import annotations

from typing import Any

from failover_otp.web.openapi_example_bodies import (
    CONVERSION,
    DELIVERY_PAGE,
    DELIVERY_TIMES,
    INBOX,
    OTP_ANSWER,
    OTP_GENERATED_CODE_REQUEST,
    OTP_REFUSED_ANSWER,
    OTP_REQUEST,
    SEARCH_REQUEST,
    STANDARD_ANSWER,
    STANDARD_REQUEST,
    STORY,
    TOKEN_ANSWER,
    TRACKING,
    TRACKING_PAGE,
    VERIFY_ANSWER,
    VERIFY_REQUEST,
    WEBHOOK_SECRET,
)

VALIDATION_ERROR: dict[str, Any] = {
    "code": "validation_failed",
    "message": "flow.0.ttl: Input should be greater than or equal to 1",
    "detail": [
        {
            "loc": ["body", "flow", 0, "ttl"],
            "msg": "Input should be greater than or equal to 1",
            "type": "greater_than_equal",
        }
    ],
}
RATE_LIMITED: dict[str, Any] = {
    "code": "rate_limited",
    "message": "too many sends (number_per_10min): at most 5 per 600 s; retry in 412 s",
    "detail": [
        {"limit": "number_per_10min", "max": 5, "windowSeconds": 600, "retryAfterSeconds": 412}
    ],
}
NOT_FOUND: dict[str, Any] = {
    "code": "not_found",
    "message": "no flow or message 'a1b2c3d4-0000-0000-0000-000000000000'",
}
MALFORMED_JSON: dict[str, Any] = {
    "code": "malformed_json",
    "message": "the body is not valid JSON: Expecting ',' delimiter (line 1, column 32)",
}
TOO_LARGE: dict[str, Any] = {
    "code": "payload_too_large",
    "message": "the request body is larger than 65536 bytes (FOTP_MAX_REQUEST_BYTES)",
    "detail": [{"limit": 65536}],
}
IN_PROGRESS: dict[str, Any] = {
    "code": "idempotency_in_progress",
    "message": "a request with this Idempotency-Key is still running; retry later",
}
UNAUTHORIZED: dict[str, Any] = {
    "code": "unauthorized",
    "message": "invalid or expired access token",
}


READY = {"status": "ok", "database": "ok", "writes": "ok", "disk": "ok"}
NOT_READY = {
    "status": "unavailable",
    "database": "ok",
    "writes": "unavailable",
    "error": "(sqlite3.OperationalError) database or disk is full",
}
OVERLOADED = {
    "code": "service_unavailable",
    "message": "the service is busy: no database connection was free in time; retry shortly",
}


def _examples(**named: Any) -> dict[str, dict[str, Any]]:
    return {name.replace("_", " "): {"value": value} for name, value in named.items()}


# (path, method) -> {"request": examples, status: examples}; an example is {"value": ...}.
OPERATION_EXAMPLES: dict[tuple[str, str], dict[str, dict[str, dict[str, Any]]]] = {
    ("/oauth/token", "post"): {
        "request": _examples(client_credentials={"grant_type": "client_credentials"}),
        "200": _examples(a_token=TOKEN_ANSWER),
    },
    ("/otp/send-failover", "post"): {
        "request": _examples(
            your_own_code=OTP_REQUEST, the_service_makes_the_code=OTP_GENERATED_CODE_REQUEST
        ),
        "200": _examples(sent_on_Viber=OTP_ANSWER, refused_by_every_channel=OTP_REFUSED_ANSWER),
    },
    ("/otp/failover/{flow_or_tracking_id}", "get"): {
        "200": _examples(Viber_expired_then_SMS_delivered=STORY),
    },
    ("/otp/failover", "get"): {"200": _examples(one_flow_s_deliveries=DELIVERY_PAGE)},
    ("/otp/verify", "post"): {
        "request": _examples(the_code_typed=VERIFY_REQUEST),
        "200": _examples(approved=VERIFY_ANSWER),
    },
    ("/failover", "post"): {
        "request": _examples(Viber_then_SMS=STANDARD_REQUEST),
        "200": _examples(started=STANDARD_ANSWER),
    },
    ("/failover/tracking/{tracking_id}", "get"): {"200": _examples(an_OTP_flow=TRACKING)},
    ("/failover/tracking", "post"): {
        "request": _examples(by_number_not_by_voice=SEARCH_REQUEST),
        "200": _examples(one_match=TRACKING_PAGE),
    },
    ("/webhooks/secret", "get"): {"200": _examples(the_signing_key=WEBHOOK_SECRET)},
    ("/sandbox/inbox/{flow_id}", "get"): {"200": _examples(the_code_came_by_SMS=INBOX)},
    ("/stats/conversion", "get"): {"200": _examples(a_week=CONVERSION)},
    ("/stats/delivery-times", "get"): {"200": _examples(one_operator=DELIVERY_TIMES)},
    ("/health", "get"): {"200": _examples(ready=READY), "503": _examples(disk_full=NOT_READY)},
    ("/health/ready", "get"): {
        "200": _examples(ready=READY),
        "503": _examples(disk_full=NOT_READY),
    },
    ("/health/live", "get"): {"200": _examples(alive={"status": "ok"})},
    ("/", "get"): {
        "200": _examples(
            service={
                "service": "failover-otp",
                "version": "0.1.0",
                "status": "ok",
                "health": "/health",
            }
        ),
    },
}
# Error answers every operation that has them shows the same way.
ERROR_EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "400": _examples(malformed_JSON=MALFORMED_JSON),
    "409": _examples(the_first_is_still_running=IN_PROGRESS),
    "413": _examples(body_too_large=TOO_LARGE),
    "401": _examples(expired_token=UNAUTHORIZED),
    "404": _examples(unknown_flow=NOT_FOUND),
    "422": _examples(invalid_field=VALIDATION_ERROR),
    "429": _examples(send_limit=RATE_LIMITED),
    "503": _examples(no_connection_in_time=OVERLOADED),
}


def add_examples(schema: dict[str, Any]) -> None:
    """Put the examples into an OpenAPI document's operations (request bodies and answers);
    the error examples go wherever an answer is the service's error body."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            wanted = OPERATION_EXAMPLES.get((path, method), {})
            for media in operation.get("requestBody", {}).get("content", {}).values():
                if "request" in wanted:
                    media["examples"] = wanted["request"]
            for status, answer in operation.get("responses", {}).items():
                content = answer.get("content", {}).get("application/json")
                is_error_body = content is not None and content.get("schema", {}).get(
                    "$ref", ""
                ).endswith("/ErrorBody")
                examples = wanted.get(status) or (
                    ERROR_EXAMPLES.get(status) if is_error_body else None
                )
                if examples is not None:
                    answer.setdefault("content", {}).setdefault("application/json", {})[
                        "examples"
                    ] = examples
