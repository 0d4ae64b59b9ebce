"""The managed code at rest (services/code_cipher.py): AES-GCM with the flow id as associated
data, and rows written by the earlier pad scheme still read."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from failover_otp.services.code_cipher import CodeCipher, CodeUnreadable

KEY = b"k" * 32
FLOW = "0994f9d7-95ec-46bb-aa82-497598700bd5"
OTHER_FLOW = "1994f9d7-95ec-46bb-aa82-497598700bd5"


def legacy_encrypt(server_key: bytes, flow_id: str, code: str) -> str:
    """What the scheme before v2 wrote: the code XOR HMAC(K_pad, flow_id), in hex."""
    pad_key = hmac.new(server_key, b"failover-otp code cipher v1", hashlib.sha256).digest()
    pad = hmac.new(pad_key, flow_id.encode(), hashlib.sha256).digest()
    return bytes(a ^ b for a, b in zip(code.encode(), pad, strict=False)).hex()


@pytest.mark.parametrize("code", ["0000", "482913", "0012345678"])
def test_a_code_comes_back_and_fits_the_column(code: str) -> None:
    cipher = CodeCipher(KEY)
    stored = cipher.encrypt(FLOW, code)
    assert stored.startswith("v2:")
    assert code not in stored
    assert len(stored) <= 64  # otp_codes.code_cipher is String(64)
    assert cipher.decrypt(FLOW, stored) == code


def test_each_encryption_takes_a_fresh_nonce() -> None:
    cipher = CodeCipher(KEY)
    # A flow's row rewritten (a retried start) shares nothing with the one it replaced.
    assert cipher.encrypt(FLOW, "482913") != cipher.encrypt(FLOW, "482913")


def test_a_code_moved_to_another_flow_does_not_decrypt() -> None:
    cipher = CodeCipher(KEY)
    with pytest.raises(CodeUnreadable):
        cipher.decrypt(OTHER_FLOW, cipher.encrypt(FLOW, "482913"))


@pytest.mark.parametrize("position", [3, 10, 30, -1])
def test_a_changed_character_does_not_decrypt(position: int) -> None:
    cipher = CodeCipher(KEY)
    stored = cipher.encrypt(FLOW, "482913")
    changed = stored[:position] + ("A" if stored[position] != "A" else "B")
    changed += stored[position + 1 :] if position != -1 else ""
    with pytest.raises(CodeUnreadable):
        cipher.decrypt(FLOW, changed)


def test_another_server_key_does_not_decrypt() -> None:
    stored = CodeCipher(KEY).encrypt(FLOW, "482913")
    with pytest.raises(CodeUnreadable):
        CodeCipher(b"x" * 32).decrypt(FLOW, stored)


def test_garbage_does_not_decrypt() -> None:
    for stored in ["v2:", "v2:!!!", "zz", "not hex at all"]:
        with pytest.raises(CodeUnreadable):
            CodeCipher(KEY).decrypt(FLOW, stored)


@pytest.mark.parametrize("code", ["0000", "482913", "0012345678"])
def test_a_row_written_by_the_earlier_scheme_still_reads(code: str) -> None:
    """A flow in flight during the upgrade sends its failover with the right code."""
    assert CodeCipher(KEY).decrypt(FLOW, legacy_encrypt(KEY, FLOW, code)) == code


def test_an_earlier_row_under_another_key_is_unreadable_not_a_wrong_code() -> None:
    with pytest.raises(CodeUnreadable):
        CodeCipher(b"x" * 32).decrypt(FLOW, legacy_encrypt(KEY, FLOW, "0012345678"))
