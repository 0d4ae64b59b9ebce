"""Server keys kept outside the database, in a file only the service's user can read.

``FOTP_KEY_FILE`` names a file holding one master key (at least 32 random bytes, written as hex
or base64, e.g. ``head -c 32 /dev/urandom | base64``). Each server key is derived from it with
HMAC-SHA256 under its own label, so one file serves every key and a stolen database copy holds
none of them. The file must not be readable by group or others: the service refuses to start
otherwise, as ssh refuses a readable private key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import stat
from pathlib import Path

MIN_KEY_BYTES = 32


class KeyFileError(ValueError):
    """The key file is missing, readable by others, or holds too short a key."""


def read_master_key(path: str | Path) -> bytes:
    file = Path(path).expanduser()
    try:
        mode = stat.S_IMODE(file.stat().st_mode)
        text = file.read_text().strip()
    except OSError as exc:
        raise KeyFileError(f"cannot read the key file {file}: {exc.strerror}") from exc
    if mode & 0o077:
        raise KeyFileError(
            f"the key file {file} is readable by other users (mode {oct(mode)}): chmod 600 it"
        )
    key = _decode(text)
    if len(key) < MIN_KEY_BYTES:
        raise KeyFileError(
            f"the key file {file} must hold at least {MIN_KEY_BYTES} random bytes (hex or base64)"
        )
    return key


def _decode(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        try:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except binascii.Error:
            return b""


def derive_key(master: bytes, label: str) -> str:
    """The server key called ``label`` (hex), derived from the master key."""
    return hmac.new(master, f"failover-otp/{label}".encode(), hashlib.sha256).hexdigest()


def key_from_file(key_file: str, label: str) -> str:
    """The key ``label`` derived from ``FOTP_KEY_FILE``; empty when no key file is set."""
    return derive_key(read_master_key(key_file), label) if key_file else ""
