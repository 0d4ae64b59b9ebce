"""Standard Webhooks signing and verification (``failover_otp.webhook_signing``)."""

from __future__ import annotations

import base64

import pytest

from failover_otp.webhook_signing import (
    WebhookVerificationError,
    generate_secret,
    secret_key,
    sign,
    sign_headers,
    verify,
)

# The Standard Webhooks specification's published test vector.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def vector_headers(**overrides: str) -> dict[str, str]:
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    headers.update(overrides)
    return headers


def test_sign_reproduces_the_standard_webhooks_test_vector() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY.encode()) == (
        VECTOR_SIGNATURE
    )


def test_verify_accepts_the_test_vector_with_or_without_the_prefix() -> None:
    verify(VECTOR_SECRET, vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP)
    verify(
        VECTOR_SECRET.removeprefix("whsec_"), vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP
    )


def test_header_names_are_case_insensitive() -> None:
    headers = {k.title(): v for k, v in vector_headers().items()}
    verify(VECTOR_SECRET, headers, VECTOR_BODY.encode(), now=VECTOR_TIMESTAMP + 10)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        pytest.param(vector_headers(), '{"test": 2432232315}', id="altered body"),
        pytest.param(vector_headers(**{"webhook-id": "msg_other"}), VECTOR_BODY, id="other id"),
        pytest.param(
            vector_headers(**{"webhook-timestamp": str(VECTOR_TIMESTAMP + 1)}),
            VECTOR_BODY,
            id="other timestamp",
        ),
        pytest.param(
            vector_headers(**{"webhook-signature": "v2," + VECTOR_SIGNATURE[3:]}),
            VECTOR_BODY,
            id="unknown version",
        ),
        pytest.param(
            vector_headers(**{"webhook-signature": "v1,AAAA"}), VECTOR_BODY, id="wrong signature"
        ),
        pytest.param({"webhook-id": VECTOR_ID}, VECTOR_BODY, id="missing headers"),
        pytest.param(
            vector_headers(**{"webhook-timestamp": "yesterday"}), VECTOR_BODY, id="bad timestamp"
        ),
    ],
)
def test_verify_refuses_anything_else(headers: dict[str, str], body: str) -> None:
    with pytest.raises(WebhookVerificationError):
        verify(VECTOR_SECRET, headers, body, now=VECTOR_TIMESTAMP)


def test_verify_refuses_another_secret() -> None:
    with pytest.raises(WebhookVerificationError):
        verify(generate_secret(), vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_verify_refuses_stale_and_future_timestamps() -> None:
    for now in (VECTOR_TIMESTAMP + 301, VECTOR_TIMESTAMP - 301):
        with pytest.raises(WebhookVerificationError, match="tolerance"):
            verify(VECTOR_SECRET, vector_headers(), VECTOR_BODY, now=now)
    verify(VECTOR_SECRET, vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP + 300)
    verify(
        VECTOR_SECRET,
        vector_headers(),
        VECTOR_BODY,
        now=VECTOR_TIMESTAMP + 3600,
        tolerance_seconds=3600,
    )


def test_any_one_of_several_signatures_is_enough() -> None:
    rotated = f"v1,bm90LWl0 {VECTOR_SIGNATURE} v1a,ZWQyNTUxOQ=="
    verify(
        VECTOR_SECRET,
        vector_headers(**{"webhook-signature": rotated}),
        VECTOR_BODY,
        now=VECTOR_TIMESTAMP,
    )


def test_sign_headers_round_trip() -> None:
    secret = generate_secret()
    body = b'{"flowId": "f", "status": "Succeeded"}'
    headers = sign_headers(secret, "msg_1", body)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == "msg_1"
    verify(secret, headers, body)


def test_signing_with_two_secrets_during_a_rotation() -> None:
    new, old, other = generate_secret(), generate_secret(), generate_secret()
    body = b'{"flowId": "f"}'
    headers = sign_headers([new, old], "msg_1", body, timestamp=VECTOR_TIMESTAMP)
    signatures = headers["webhook-signature"].split(" ")
    assert signatures == [
        sign(new, "msg_1", VECTOR_TIMESTAMP, body),
        sign(old, "msg_1", VECTOR_TIMESTAMP, body),
    ]
    for secret in (new, old):  # a receiver holding either secret verifies
        verify(secret, headers, body, now=VECTOR_TIMESTAMP)
    with pytest.raises(WebhookVerificationError):
        verify(other, headers, body, now=VECTOR_TIMESTAMP)
    with pytest.raises(ValueError, match="at least one secret"):
        sign_headers([], "msg_1", body)


def test_generated_secrets_are_whsec_prefixed_random_keys() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(secret_key(first)) == 32
    assert len(base64.b64decode(generate_secret(64).removeprefix("whsec_"))) == 64
    with pytest.raises(ValueError, match="24 to 64"):
        generate_secret(16)


def test_a_malformed_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="not a webhook secret"):
        secret_key("whsec_not base64!")
