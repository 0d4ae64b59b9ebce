"""Standard Webhooks signatures (https://www.standardwebhooks.com, symmetric scheme ``v1``).

Every webhook failover-otp sends carries three headers:

- ``webhook-id``: the event id, the same on every retry of one event (deduplicate on it);
- ``webhook-timestamp``: the attempt's time, in unix seconds;
- ``webhook-signature``: ``v1,<base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}"))>``, where
  ``key`` is the base64-decoded part of the application's secret after ``whsec_`` and ``body`` is
  the raw request body, byte for byte (re-serialised JSON does not verify). During a secret
  rotation's overlap window it holds two such signatures, space-separated (new secret first).

This module uses the standard library only, so a receiver can copy it as it is and call
:func:`verify`::

    from webhook_signing import WebhookVerificationError, verify

    try:
        verify(SECRET, request.headers, raw_body)  # raw bytes, before any JSON parsing
    except WebhookVerificationError:
        return 400
    if seen_before(request.headers["webhook-id"]):
        return 200  # a retry of an event already handled
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping, Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format marker, not a secret
SIGNATURE_VERSION = "v1"
# How far a webhook-timestamp may be from the receiver's clock (replay window), in seconds.
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookVerificationError(ValueError):
    """The request is not a genuine, fresh webhook signed with this secret."""


def generate_secret(num_bytes: int = 32) -> str:
    """A new random signing secret, ``whsec_`` + base64 of ``num_bytes`` (24 to 64) bytes."""
    if not 24 <= num_bytes <= 64:
        raise ValueError("a webhook secret has 24 to 64 random bytes")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(num_bytes)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_...`` secret (the prefix is optional)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a webhook secret: expected whsec_ followed by base64") from exc


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def sign(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The ``webhook-signature`` value of one attempt: ``v1,<base64 HMAC-SHA256>``."""
    signed = f"{msg_id}.{timestamp}.".encode() + _as_bytes(body)
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def sign_headers(
    secret: str | Sequence[str], msg_id: str, body: bytes | str, *, timestamp: int | None = None
) -> dict[str, str]:
    """The three headers of one attempt (``timestamp`` defaults to now). With several secrets
    (a rotation's overlap window) ``webhook-signature`` carries one signature per secret,
    space-separated, as the standard allows: a receiver holding either secret verifies."""
    ts = int(time.time()) if timestamp is None else timestamp
    secrets_ = [secret] if isinstance(secret, str) else list(secret)
    if not secrets_:
        raise ValueError("at least one secret is needed to sign")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": " ".join(sign(s, msg_id, ts, body) for s in secrets_),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raise :class:`WebhookVerificationError` unless ``body`` was signed with ``secret``.

    ``headers`` may use any letter case. Several space-separated signatures are accepted (any
    one matching is enough), as the standard allows during a secret rotation. Signatures are
    compared in constant time; a timestamp further than ``tolerance_seconds`` from ``now`` is
    refused, which bounds replays.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    raw_timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not msg_id or not raw_timestamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or signature")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not unix seconds") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp outside the tolerance window")
    expected = sign(secret, msg_id, timestamp, body).encode("ascii")
    for candidate in signatures.split():
        version, _, _value = candidate.partition(",")
        if version == SIGNATURE_VERSION and hmac.compare_digest(
            candidate.encode("ascii", "replace"), expected
        ):
            return
    raise WebhookVerificationError("no matching signature")
