"""The bodies the OpenAPI examples show (web/openapi_examples.py puts them in the document).

The ids, numbers, prices and statuses are the seeds' (``shared/seeds/``: the flow of
otp-failover-tracking.txt 5.1, the filters of search-failover-trackings.txt); the shapes are
what the service answers (captured from the sandbox, ids replaced by the seeds').
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
    "status": "delivered",
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

DELIVERY_TIMES: dict[str, Any] = {
    "windowHours": 168,
    "minSamples": 100,
    "models": [
        {"channel": "viber", "country": "GR", "operator": "Cosmote", "samples": 1000,
         "trusted": True, "trustedUntilSeconds": 120, "deliveredShare": 0.75,
         "notDeliveredShare": 0.25, "medianSeconds": 2.14, "p95Seconds": 8.5,
         "curve": [{"seconds": 1, "deliveredShare": 0.2333},
                   {"seconds": 2, "deliveredShare": 0.4667},
                   {"seconds": 3, "deliveredShare": 0.7},
                   {"seconds": 10, "deliveredShare": 0.75},
                   {"seconds": 120, "deliveredShare": 0.75}]},
    ],
}  # fmt: skip
