"""JSON responses encoded once with orjson: no response-model re-validation on hot paths."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


# An error body never echoes more than this many characters of any one string: a client that
# sent a megabyte in a field gets a clear message, not its megabyte back (nor do the logs).
ECHO_LIMIT = 300


def capped(value: Any, limit: int = ECHO_LIMIT) -> Any:
    """``value`` with every string in it cut to ``limit`` characters (saying how many more)."""
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        return f"{value[:limit]}… ({len(value) - limit} more characters)"
    if isinstance(value, dict):
        return {capped(k, limit): capped(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [capped(v, limit) for v in value]
    return value


def error_body(
    code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": capped(message)}
    if details:
        body["detail"] = capped(details)
    return body
