"""The OpenAPI document as the API really answers, and the pages that show it offline.

FastAPI documents what each route declares; every route also shares answers it never declares:
401 when the Bearer token is missing or expired, 400 for malformed JSON, 413 for a body over
the size limit, 503 when the database cannot be had in time, and the service's own error body
(``{code, message, detail?}``) on 422 instead of FastAPI's bare ``{detail}``. Added here once
for every operation, so a new route is documented correctly without extra work.

``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) load their scripts, styles and icons from
``web/docs_static/`` (vendored upstream files, with their licences): FastAPI's defaults load
them from a CDN and Google Fonts, which leaves both pages blank without internet access.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.openapi.utils import get_openapi
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from failover_otp.web.error_schemas import ErrorBody
from failover_otp.web.openapi_examples import add_examples

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


# Every operation that needs the database may answer 503 when it cannot have it in time; these
# never do (or answer their own 503 body: readiness).
_OWN_503 = frozenset({"/", "/health/live", "/health", "/health/ready", "/metrics"})


def _overloaded() -> dict[str, Any]:
    answer = _error(
        "no database connection within FOTP_DB_POOL_TIMEOUT_SECONDS, or the database cannot "
        "take writes (`service_unavailable`); see the Retry-After header"
    )
    answer["headers"] = {
        "Retry-After": {
            "description": "seconds to wait before retrying",
            "schema": {"type": "integer"},
        }
    }
    return answer


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(
        "ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if path not in _OWN_503:
                responses.setdefault("503", _overloaded())
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
    add_examples(schema)
    return schema


DOCS_STATIC = Path(__file__).with_name("docs_static")
_ASSETS = "/docs/static"
_OAUTH2_REDIRECT = "/docs/oauth2-redirect"


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def same_origin_only(page: HTMLResponse) -> HTMLResponse:
    """The page may load nothing from anywhere else (its Content-Security-Policy).

    Belt and braces: the assets are local, yet ReDoc's sidebar still shows a logo from
    cdn.redoc.ly; the browser now refuses it before any request leaves (the image hides itself
    when it fails). Inline scripts (the viewers' set-up) are allowed by hash; styles are
    injected by the viewers at run time, and ReDoc's search runs in a blob: worker.
    """
    body = bytes(page.body).decode()
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(body)
    )
    page.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    return page


def install_docs(app: FastAPI) -> None:
    """``/docs`` and ``/redoc`` on the vendored assets (create the app with ``docs_url=None,
    redoc_url=None``). Swagger UI's online validator badge is off: it too called out."""
    app.mount(_ASSETS, StaticFiles(directory=DOCS_STATIC), name="docs-static")

    def prefix(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = prefix(request)
        return same_origin_only(
            get_swagger_ui_html(
                openapi_url=root + str(app.openapi_url),
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{root}{_ASSETS}/swagger-ui/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{_ASSETS}/swagger-ui/swagger-ui.css",
                swagger_favicon_url=f"{root}{_ASSETS}/swagger-ui/favicon-32x32.png",
                oauth2_redirect_url=root + _OAUTH2_REDIRECT,
                swagger_ui_parameters={"validatorUrl": None},
            )
        )

    @app.get(_OAUTH2_REDIRECT, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = prefix(request)
        return same_origin_only(
            get_redoc_html(
                openapi_url=root + str(app.openapi_url),
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{_ASSETS}/redoc/redoc.standalone.js",
                redoc_favicon_url=f"{root}{_ASSETS}/swagger-ui/favicon-32x32.png",
                with_google_fonts=False,
            )
        )


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
