"""Examples for the OpenAPI document: a request and an answer for every endpoint.

The ids, numbers, prices and statuses are the seeds' (``shared/seeds/``: the flow of
otp-failover-tracking.txt 5.1, the filters of search-failover-trackings.txt); the shapes are
what the service answers (captured from the sandbox, ids replaced by the seeds'). They are
checked against the routes' own request and response models (tests/unit/web/test_openapi.py),
so an example cannot drift from the API without a test failing.
"""

from __future__ import annotations

from typing import Any

FLOW_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
VIBER_ID = "550e8400-e29b-41d4-a716-446655440000"
SMS_ID = "660e8400-e29b-41d4-a716-446655440001"
STANDARD_ID = "72d28f83-3e81-4505-9e97-20450ef617ca"
APP_ID = "5f8a2c7e91b04d3a6c1e9b27"
CREATED = "2026-02-16T12:00:00.000Z"
FAILED_OVER = "2026-02-16T12:02:00.010Z"
DELIVERED = "2026-02-16T12:02:02.060Z"
TEMPLATE_ID = "0aac888f-2ee2-4112-9659-1755a951966a"

OTP_REQUEST: dict[str, Any] = {
    "flow": [
        {
            "type": "ViberOtp",
            "to": "+306912345671",
            "order": 1,
            "ttl": 120,
            "senderInfoTrackingId": "my-sender",
            "templateId": TEMPLATE_ID,
            "pin": "482913",
            "label": "login",
        },
        {
            "type": "Sms",
            "to": "+306912345671",
            "order": 2,
            "ttl": 300,
            "from": "MyBrand",
            "message": {"body": "Your code is 482913"},
        },
    ]
}

OTP_GENERATED_CODE_REQUEST: dict[str, Any] = {
    "flow": [
        {k: v for k, v in OTP_REQUEST["flow"][0].items() if k != "pin"},
        {**OTP_REQUEST["flow"][1], "message": {"body": "Your code is {pin}"}},
    ],
    "callback": {"url": "https://example.com/hooks/otp"},
}

OTP_ANSWER: dict[str, Any] = {
    "flowId": FLOW_ID,
    "status": "InProgress",
    "type": "Viber",
    "flow": [
        {
            "to": "+306912345671",
            "order": 1,
            "ttl": 120,
            "label": "login",
            "type": "ViberOtp",
            "senderInfoTrackingId": "my-sender",
            "templateId": TEMPLATE_ID,
            "templateLang": "en",
            "failoverOnDelivered": False,
            "trackingId": VIBER_ID,
        },
        {
            "to": "+306912345671",
            "order": 2,
            "ttl": 300,
            "type": "Sms",
            "from": "MyBrand",
            "message": {"body": "Your code is {pin}", "flash": False},
            "trackingId": None,
        },
    ],
    "createdAt": CREATED,
    "statusCode": None,
}

OTP_REFUSED_ANSWER: dict[str, Any] = {
    **OTP_ANSWER,
    "flowId": None,
    "status": "Failed",
    "type": None,
    "flow": [{**step, "trackingId": None} for step in OTP_ANSWER["flow"]],
    "statusCode": 1,
    "error": "insufficient balance",
}

VIBER_STEP: dict[str, Any] = {
    "trackingId": VIBER_ID,
    "role": "primary",
    "status": "EXPIRED",
    "channel": "viber",
    "phone_number": "306912345671",
    "created_at": CREATED,
    "detailed_status": "Expired",
    "price": 0.0093,
    "country": "GR",
    "operator": "M-STAT",
    "sent_at": "2026-02-16T12:00:00.080Z",
    "label": "login",
    "flowId": FLOW_ID,
}
SMS_STEP: dict[str, Any] = {
    "trackingId": SMS_ID,
    "role": "failover",
    "status": "Delivered",
    "channel": "sms",
    "phone_number": "306912345671",
    "created_at": FAILED_OVER,
    "detailed_status": "Delivered",
    "price": 0.0375,
    "latency_ms": 2010,
    "country": "GR",
    "operator": "M-STAT",
    "sent_at": "2026-02-16T12:02:00.050Z",
    "delivered_at": DELIVERED,
    "failover_from_message_token": VIBER_ID,
    "label": "login",
    "flowId": FLOW_ID,
}

STORY: dict[str, Any] = {
    "flowId": FLOW_ID,
    "status": "Succeeded",
    "statusCode": None,
    "total_cost": 0.0468,
    "steps": [VIBER_STEP, SMS_STEP],
}

DELIVERY_PAGE: dict[str, Any] = {
    "total": 2,
    "totalExact": True,
    "limit": 50,
    "offset": 0,
    "results": [
        {**SMS_STEP, "flow_status": "Succeeded"},
        {**VIBER_STEP, "flow_status": "Succeeded"},
    ],
}

VERIFY_REQUEST: dict[str, Any] = {"flowId": FLOW_ID, "code": "482913"}
VERIFY_ANSWER: dict[str, Any] = {"flowId": FLOW_ID, "valid": True, "status": "approved"}

STANDARD_REQUEST: dict[str, Any] = {
    "flow": [
        {
            "type": "Viber",
            "to": "+306912345672",
            "order": 1,
            "ttl": 2,
            "senderInfoTrackingId": "my-sender",
            "text": "Your parcel is on its way",
        },
        {
            "type": "Sms",
            "to": "+306912345672",
            "order": 2,
            "ttl": 5,
            "from": "MyBrand",
            "message": {"body": "Your parcel is on its way"},
        },
    ],
    "callback": {"url": "https://example.com/hooks/failover", "strategy": "OnCompletion"},
}

STANDARD_ANSWER: dict[str, Any] = {
    "trackingId": STANDARD_ID,
    "flow": [
        {
            "order": 1,
            "type": "Viber",
            "to": "+306912345672",
            "senderInfoTrackingId": "my-sender",
            "ttl": 2.0,
            "text": "Your parcel is on its way",
            "expireOnDelivery": False,
            "failoverOnStatuses": ["EXPIRED", "FAILED", "UNDELIVERED"],
        },
        {
            "order": 2,
            "type": "Sms",
            "from": "MyBrand",
            "to": "+306912345672",
            "message": {"body": "Your parcel is on its way", "flash": False},
            "ttl": 5,
            "failoverOnStatuses": ["Failed", "Undelivered"],
        },
    ],
    "callback": {"url": "https://example.com/hooks/failover", "strategy": "OnCompletion"},
    "createdAt": CREATED,
}

TRACKING: dict[str, Any] = {
    "trackingId": FLOW_ID,
    "messages": [
        {
            "type": "Viber",
            "order": 1,
            "failoverOnStatuses": ["EXPIRED", "FAILED", "UNDELIVERED"],
            "createdAt": CREATED,
            "trackingId": VIBER_ID,
            "from": "my-sender",
            "to": "+306912345671",
            "country": "GR",
            "body": {"text": None, "imageUrl": None, "action": None},
            "status": {
                "name": "EXPIRED",
                "reason": {
                    "detailedStatus": "Expired",
                    "description": "The message was not delivered within its ttl",
                },
                "updatedDate": FAILED_OVER,
            },
            "expireOnDelivery": False,
            "expiredOnDeliveryAt": None,
            "price": 0.0093,
            "label": "login",
            "inboundUrl": None,
            "ttl": 2,
        },
        {
            "type": "Sms",
            "order": 2,
            "failoverOnStatuses": ["Failed", "Undelivered"],
            "createdAt": FAILED_OVER,
            "messageId": SMS_ID,
            "smsId": "44f72d8b-a5b0-51bc-9347-064784e52955",
            "from": "MyBrand",
            "to": "+306912345671",
            "body": "Your code is {pin}",
            "country": "GR",
            "operator": "M-STAT",
            "status": {
                "name": "Delivered",
                "reason": {
                    "detailedStatus": "Delivered",
                    "description": "The message was delivered to the handset",
                },
                "updatedDate": DELIVERED,
            },
            "part": 1,
            "parts": 1,
            "latency": 2010,
            "price": 0.0375,
            "label": "login",
            "ttl": 5,
        },
    ],
    "terminationChannel": "Sms",
    "status": "Succeeded",
    "statusCode": None,
    "totalPrice": 0.0468,
    "originatingService": "FailoverOtp",
    "applicationId": APP_ID,
    "createdAt": CREATED,
    "updatedAt": DELIVERED,
}

# The seed's example request (search-failover-trackings.txt), with a complete number.
SEARCH_REQUEST: list[dict[str, Any]] = [
    {"fieldName": "to", "searchOperator": "is", "searchTerm": "+306912345671"},
    {"fieldName": "type", "searchOperator": "is_not", "searchTerm": "Voice"},
]
TRACKING_PAGE: dict[str, Any] = {
    "content": [TRACKING],
    "totalPages": 1,
    "totalElements": 1,
    "totalElementsExact": True,
    "number": 0,
    "size": 20,
    "numberOfElements": 1,
    "first": True,
    "last": True,
}

TOKEN_ANSWER: dict[str, Any] = {
    "access_token": "Xq3kz8vJ0l0iX1bq8cJmB3oQ8yq4nP5sRr7tT2uV9wA",
    "token_type": "Bearer",
    "expires_in": 3600,
    "scope": "otp failover tracking",
}
WEBHOOK_SECRET: dict[str, Any] = {
    "applicationId": APP_ID,
    "webhookSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "signatureScheme": "Standard Webhooks v1 (HMAC-SHA256)",
    "previousSecretValidUntil": None,
}
INBOX: dict[str, Any] = {
    "flowId": FLOW_ID,
    "messages": [
        {
            "trackingId": VIBER_ID,
            "channel": "viber",
            "to": "306912345671",
            "text": f"Viber OTP (template {TEMPLATE_ID}): 482913",
            "code": "482913",
            "status": "EXPIRED",
            "delivered": False,
        },
        {
            "trackingId": SMS_ID,
            "channel": "sms",
            "to": "306912345671",
            "text": "Your code is 482913",
            "code": "482913",
            "status": "Delivered",
            "delivered": True,
        },
    ],
}

CONVERSION: dict[str, Any] = {
    "dateStart": "2026-02-09T12:00:00.000Z",
    "dateEnd": "2026-02-16T12:00:00.000Z",
    "flows": 40,
    "verified": 31,
    "conversionRate": 0.775,
    "byChannel": [
        {"channel": "viber", "flows": 28, "verified": 23, "conversionRate": 0.8214,
         "deliveryRate": 0.875},
        {"channel": "sms", "flows": 12, "verified": 8, "conversionRate": 0.6667,
         "deliveryRate": 0.9231},
    ],
    "byCountry": [{"country": "GR", "flows": 40, "verified": 31, "conversionRate": 0.775}],
    "byDay": [
        {"day": "2026-02-15", "flows": 22, "verified": 17, "conversionRate": 0.7727},
        {"day": "2026-02-16", "flows": 18, "verified": 14, "conversionRate": 0.7778},
    ],
}  # fmt: skip

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
    ("/health", "get"): {"200": _examples(ready={"status": "ok", "database": "ok"})},
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
