"""The managed code at rest, while a step may still be sent: AES-256-GCM from ``cryptography``.

Stored form: ``v2:`` + base64url(nonce || ciphertext || tag), no padding; 54 characters at most
for a 10-digit code (the column holds 64). A fresh random 96-bit nonce per code, and the flow id
as associated data: a copy moved to another flow's row does not decrypt, a changed byte does
not decrypt, and a row rewritten for the same flow (a retried start) shares nothing with the
one it replaced.

Rows written before this scheme (the code XOR ``HMAC-SHA256(K_pad, flow_id)``, stored as bare
hex) are still read, so a flow in flight during an upgrade sends its failover with the right
code; nothing writes them any more. Such rows live only as long as their flow's code (they are
dropped when it ends, is used or expires), so the legacy branch can go one release later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "v2:"
_NONCE_BYTES = 12
_MAX_CODE_BYTES = 32


class CodeUnreadable(ValueError):
    """A stored code that does not decrypt: changed in the database, moved from another flow's
    row, or encrypted under another server key."""


class CodeCipher:
    def __init__(self, server_key: bytes) -> None:
        aead_key = hmac.new(server_key, b"failover-otp code cipher v2", hashlib.sha256).digest()
        self._aead = AESGCM(aead_key)
        self._pad_key = hmac.new(
            server_key, b"failover-otp code cipher v1", hashlib.sha256
        ).digest()

    def encrypt(self, flow_id: str, code: str) -> str:
        data = code.encode()
        if len(data) > _MAX_CODE_BYTES:
            raise ValueError("code too long")
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, data, flow_id.encode())
        return _PREFIX + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def decrypt(self, flow_id: str, stored: str) -> str:
        if not stored.startswith(_PREFIX):
            return self._decrypt_pad(flow_id, stored)
        text = stored[len(_PREFIX) :]
        try:
            sealed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            # base64 ignores the spare low bits of the last character: a row that is not the exact
            # text encrypt() wrote has been changed, even when its bytes decode the same.
            if base64.urlsafe_b64encode(sealed).rstrip(b"=").decode() != text:
                raise ValueError("not the canonical encoding")
            nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
            return self._aead.decrypt(nonce, body, flow_id.encode()).decode()
        except (binascii.Error, InvalidTag, ValueError) as exc:
            raise CodeUnreadable(f"the stored code of flow {flow_id} does not decrypt") from exc

    def _decrypt_pad(self, flow_id: str, stored: str) -> str:
        """The scheme before v2 (no integrity: a row it cannot read is caught by the digits)."""
        try:
            data = bytes.fromhex(stored)
        except ValueError as exc:
            raise CodeUnreadable(f"the stored code of flow {flow_id} is not hex") from exc
        pad = hmac.new(self._pad_key, flow_id.encode(), hashlib.sha256).digest()
        try:
            code = bytes(a ^ b for a, b in zip(data, pad, strict=False)).decode()
        except UnicodeDecodeError as exc:
            raise CodeUnreadable(f"the stored code of flow {flow_id} does not decrypt") from exc
        if not code.isdigit():
            raise CodeUnreadable(f"the stored code of flow {flow_id} does not decrypt")
        return code


def _derive(server_key: bytes, label: bytes) -> bytes:
    return hmac.new(server_key, label, hashlib.sha256).digest()
