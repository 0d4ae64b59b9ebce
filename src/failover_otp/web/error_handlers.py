"""One mapping from every error to a JSON answer; bad input never becomes a 500."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from failover_otp.errors import ApiError
from failover_otp.services.health import STORAGE_ERRORS, storage_unavailable
from failover_otp.web.responses import FastJSONResponse, error_body

log = structlog.get_logger(__name__)

# What a 503 for overload asks the client to wait: short, the condition is usually a burst.
OVERLOAD_RETRY_AFTER_SECONDS = 1

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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else exc.headers
        return FastJSONResponse(
            error_body(exc.code, exc.message, exc.details),
            status_code=exc.status_code,
            headers=headers,
        )

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
        reason = storage_unavailable(exc)
        if reason is None:
            return await unexpected(request, exc)
        # Overload or a database refusing writes: a condition of the moment, not a bug.
        log.warning("database unavailable", reason=reason, error=str(exc).splitlines()[0])
        message = (
            "the service is busy: no database connection was free in time; retry shortly"
            if reason == "busy"
            else "the database cannot take requests right now; retry shortly"
        )
        return FastJSONResponse(
            error_body("service_unavailable", message),
            status_code=503,
            headers={"Retry-After": str(OVERLOAD_RETRY_AFTER_SECONDS)},
        )

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
