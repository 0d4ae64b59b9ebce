"""The error body every route answers with, declared for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """``{"code", "message", "detail"?}``: a stable machine code and a human message."""

    code: str = Field(description="stable machine code, e.g. validation_failed, rate_limited")
    message: str = Field(description="what went wrong, for people")
    detail: list[dict[str, Any]] | None = Field(
        default=None, description="per-field problems (validation) or the limit that applied"
    )


_DESCRIPTIONS = {
    400: "malformed JSON (`malformed_json`)",
    401: "missing, invalid or expired Bearer token (`unauthorized`)",
    404: "no such flow for this application (`not_found`)",
    409: "a request with this Idempotency-Key is still running (`idempotency_in_progress`)",
    422: "invalid request (`validation_failed`); for sends also `idempotency_key_reused`, "
    "`number_type_not_allowed`, `country_not_allowed`",
    429: "a send limit (`rate_limited`) or the daily spend cap (`spend_cap_reached`); "
    "see the Retry-After header",
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before retrying",
        "schema": {"type": "integer"},
    }
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with the error body (and Retry-After on 429)."""
    answers: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        answer: dict[str, Any] = {"model": ErrorBody, "description": _DESCRIPTIONS[status]}
        if status in (409, 429):
            answer["headers"] = _RETRY_AFTER
        answers[status] = answer
    return answers
