"""One mapping from every error to a JSON answer; bad input never becomes a 500.

The services' refusals (``services/errors.py``) carry no HTTP: their status codes and headers
are decided here and nowhere else."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from failover_otp.services.errors import (
    Conflict,
    Invalid,
    Malformed,
    NotFound,
    RateLimited,
    Refused,
    ServiceError,
    Unauthenticated,
    Unavailable,
)
from failover_otp.services.health import STORAGE_ERRORS, storage_unavailable
from failover_otp.web.responses import FastJSONResponse, error_body

log = structlog.get_logger(__name__)

# The status of each kind of service error (a kind not listed answers as its nearest base).
SERVICE_STATUS: dict[type[ServiceError], int] = {
    ServiceError: 400,
    Malformed: 400,
    Unauthenticated: 401,
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    Refused: 422,
    RateLimited: 429,
    Unavailable: 503,
}

_HTTP_CODES = {
    400: "malformed_json",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    503: "service_unavailable",
}
_UNPARSED = {
    "malformed_json": "the request body is not valid JSON (UTF-8 text, nested at most a few "
    "hundred levels)",
    "malformed_body": "the form body could not be parsed",
}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _http_code(request: Request, status: int) -> str:
    """The documented code of a bare HTTP error. A 400 is the body failing to parse (FastAPI
    raises it for JSON that is not UTF-8 or nests too deep, and for broken form bodies)."""
    if status == 400 and request.headers.get("content-type", "").startswith(_FORM_TYPES):
        return "malformed_body"
    code = _HTTP_CODES.get(status)
    if code is not None:
        return code
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "http_error"


def _clean(errors: Any) -> list[dict[str, Any]]:
    """Pydantic's error list without the parts that are not JSON (exceptions in ``ctx``)."""
    cleaned = []
    for error in errors:
        item = {
            "loc": list(error.get("loc", ())),
            "msg": error.get("msg"),
            "type": error.get("type"),
        }
        cleaned.append(item)
    return cleaned


def http_status(error: ServiceError) -> int:
    for kind in type(error).__mro__:
        status = SERVICE_STATUS.get(kind)
        if status is not None:
            return status
    return 400  # unreachable: ServiceError itself is mapped


def service_error_response(error: ServiceError) -> Response:
    """The documented answer to a service's refusal: its status, ``Retry-After`` when it says
    when to come back, and the ``{code, message, details}`` body."""
    headers: dict[str, str] = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int):
        headers["Retry-After"] = str(retry_after)
    return FastJSONResponse(
        error_body(error.code, error.message, error.details),
        status_code=http_status(error),
        headers=headers or None,
    )


def install_error_handlers(
    app: FastAPI, classify_storage_error: Callable[[BaseException], str | None]
) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> Response:
        return service_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        details = _clean(exc.errors())
        if any(d["type"] == "json_invalid" for d in details):
            return FastJSONResponse(
                error_body("malformed_json", "the request body is not valid JSON", details),
                status_code=400,
            )
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body")
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        return FastJSONResponse(error_body("validation_failed", message, details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _http_code(request, exc.status_code)
        message = _UNPARSED.get(code, str(exc.detail)) if exc.status_code == 400 else exc.detail
        return FastJSONResponse(
            error_body(code, str(message)), status_code=exc.status_code, headers=exc.headers
        )

    async def database_error(request: Request, exc: Exception) -> Response:
        unavailable = storage_unavailable(exc, classify_storage_error)
        if unavailable is None:
            return await unexpected(request, exc)
        return service_error_response(unavailable)

    # Handled here rather than by the catch-all below, which Starlette re-raises (and the
    # server logs as a crash) after answering.
    for storage_error in STORAGE_ERRORS:
        app.add_exception_handler(storage_error, database_error)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error", error=str(exc))
        return FastJSONResponse(
            error_body("internal_error", "an unexpected error occurred; it has been logged"),
            status_code=500,
        )
