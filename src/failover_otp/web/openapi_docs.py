"""The OpenAPI document as the API really answers: Bearer auth, and the JSON error body.

FastAPI documents what each route declares; every route also shares answers it never declares:
401 when the Bearer token is missing or expired, 400 for malformed JSON, 413 for a body over
the size limit, and the service's own error body (``{code, message, detail?}``) on 422 instead
of FastAPI's bare ``{detail}``. Added here once for every operation, so a new route is
documented correctly without extra work.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from failover_otp.web.error_schemas import ErrorBody

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(
        "ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if operation.get("security"):
                responses.setdefault(
                    "401", _error("missing, invalid or expired Bearer token (`unauthorized`)")
                )
            if "requestBody" in operation:
                responses.setdefault("400", _error("the body is not valid JSON (`malformed_json`)"))
                responses.setdefault(
                    "413", _error("the body is over FOTP_MAX_REQUEST_BYTES (`payload_too_large`)")
                )
            invalid = responses.get("422")
            if invalid is not None:
                content = invalid.setdefault("content", {}).setdefault("application/json", {})
                if content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                    content["schema"] = _ERROR_REF
                    invalid["description"] = "invalid request (`validation_failed`)"
    return schema


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
