"""Finding text no field may hold: a NUL character, or an unpaired UTF-16 surrogate.

Neither can be stored (PostgreSQL refuses ``\\x00`` in text and JSON, and a lone surrogate cannot
be encoded as UTF-8 for either database), so a request carrying one anywhere is refused at the
boundary (``web/request_guard.py``) with a 422 that names where it was, before any route runs.

Pure functions over what arrives: the decoded path, the raw query string, the headers and the
raw body. The common case costs one substring search per part; only a body that may hold such
a character (a ``\\u0000`` or surrogate escape in JSON) is parsed to find where.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

# A JSON escape that may decode to a NUL or to a surrogate (paired ones are fine, and so is an
# escaped backslash before "u0000": the parse below tells them apart).
_SUSPECT_JSON_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class BadText:
    """Where the offending text is (FastAPI's ``loc``) and what is wrong with it."""

    loc: tuple[str | int, ...]
    kind: str  # "string_nul_character" or "string_unpaired_surrogate"

    @property
    def description(self) -> str:
        if self.kind == "string_nul_character":
            return "contains a NUL character (U+0000), which no field accepts"
        return "contains an unpaired UTF-16 surrogate, which is not valid text"

    @property
    def message(self) -> str:
        where = ".".join(str(p) for p in self.loc[1:]) or self.loc[0]
        return f"{where}: {self.description}"


def problem(text: str) -> str | None:
    """The kind of bad text in ``text``, if any."""
    if "\x00" in text:
        return "string_nul_character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "string_unpaired_surrogate"
    return None


def in_path(path: str) -> BadText | None:
    return BadText(("path",), "string_nul_character") if "\x00" in path else None


def in_query(query_string: bytes) -> BadText | None:
    # A NUL can only arrive percent-encoded; undecodable bytes become U+FFFD, never surrogates.
    if b"%00" not in query_string and b"\x00" not in query_string:
        return None
    return _in_pairs("query", query_string)


def in_headers(headers: list[tuple[bytes, bytes]]) -> BadText | None:
    # HTTP servers refuse a NUL in a header line; in-process clients need not.
    for name, value in headers:
        if b"\x00" in value:
            return BadText(("header", name.decode("latin-1")), "string_nul_character")
    return None


def in_body(content_type: str, body: bytes) -> BadText | None:
    if not body:
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == _FORM:
        if b"%00" not in body and b"\x00" not in body:
            return None
        return _in_pairs("body", body)
    if media_type == _MULTIPART:
        # No route takes file uploads: a NUL in a multipart body is in a text field.
        return BadText(("body",), "string_nul_character") if b"\x00" in body else None
    # Every other body is read as JSON by the routes (FastAPI parses a body without a content
    # type as JSON too); a body that is not JSON is left to them (400 malformed_json). JSON in
    # UTF-16 or UTF-32 (which the parser accepts) has zero bytes, and escapes the search cannot
    # see: it is always parsed.
    if _SUSPECT_JSON_ESCAPE.search(body) is None and b"\x00" not in body:
        return None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return _in_json(document, ("body",))


def _in_pairs(where: str, encoded: bytes) -> BadText | None:
    for name, value in parse_qsl(encoded.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return BadText((where, name.replace("\x00", "")), "string_nul_character")
    return None


def _in_json(value: Any, loc: tuple[str | int, ...]) -> BadText | None:
    # Iterative, so a deeply nested document cannot exhaust the stack.
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(value, loc)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            kind = problem(item)
            if kind is not None:
                return BadText(where, kind)
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                kind = problem(key)
                if kind is not None:
                    return BadText((*where, _printable(key)), kind)
                pending.append((child, (*where, key)))
        elif isinstance(item, list):
            pending.extend((child, (*where, i)) for i, child in reversed(list(enumerate(item))))
    return None


def _printable(text: str) -> str:
    """A key fit to be shown in an error body (itself free of the bad characters)."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
