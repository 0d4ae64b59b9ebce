"""FOTP_KEY_FILE: the master key file is read only when it is private and long enough."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from failover_otp.key_file import KeyFileError, derive_key, key_from_file, read_master_key


def write_key_file(path: Path, text: str, file_mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(file_mode)
    return path


def test_key_file_must_be_private_and_long_enough(tmp_path: Path) -> None:
    good = secrets.token_bytes(32)
    assert read_master_key(write_key_file(tmp_path / "hex", good.hex())) == good
    assert read_master_key(write_key_file(tmp_path / "b64", base64.b64encode(good).decode())) == (
        good
    )
    with pytest.raises(KeyFileError, match="readable by other users"):
        read_master_key(write_key_file(tmp_path / "open", good.hex(), 0o644))
    with pytest.raises(KeyFileError, match="at least 32"):
        read_master_key(write_key_file(tmp_path / "short", secrets.token_bytes(16).hex()))
    with pytest.raises(KeyFileError, match="cannot read"):
        read_master_key(tmp_path / "missing")
    assert derive_key(good, "a") != derive_key(good, "b")


def test_each_label_has_its_own_key(tmp_path: Path) -> None:
    path = write_key_file(tmp_path / "keys", secrets.token_hex(32))
    assert key_from_file("", "code_hmac_key") == ""
    assert key_from_file(str(path), "a") == key_from_file(str(path), "a")
    assert key_from_file(str(path), "a") != key_from_file(str(path), "b")
