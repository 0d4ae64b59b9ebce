"""``POST /oauth/token``: OAuth2 client credentials, the way Routee hands out tokens."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Form, Header
from pydantic import BaseModel, Field

from failover_otp.web import bad_text
from failover_otp.web.deps import ServicesDep
from failover_otp.web.responses import FastJSONResponse, error_body

router = APIRouter(tags=["Authentication"])


class TokenResponse(BaseModel):
    access_token: str = Field(description="send it as `Authorization: Bearer <access_token>`")
    token_type: str = Field(description="always `Bearer`")
    expires_in: int = Field(description="seconds the token stays valid (then get a new one)")
    scope: str = Field(description="what the token may do")


def _oauth_error(
    status: int, error: str, message: str, *, code: str | None = None
) -> FastJSONResponse:
    """RFC 6749's ``error`` fields beside the service's own ``code`` (the OAuth error unless
    the service documents another one for the case)."""
    body = {**error_body(code or error, message), "error": error, "error_description": message}
    headers = {"WWW-Authenticate": 'Basic realm="failover-otp"'} if status == 401 else None
    return FastJSONResponse(body, status_code=status, headers=headers)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    app_id, sep, secret = decoded.partition(":")
    return (app_id, secret) if sep else None


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    summary="Exchange application credentials (HTTP Basic) for a Bearer token",
    responses={400: {"description": "unsupported grant"}, 401: {"description": "bad credentials"}},
)
async def issue_token(
    services: ServicesDep,
    grant_type: Annotated[str, Form(description="always `client_credentials`")],
    authorization: Annotated[
        str | None, Header(description="`Basic base64(applicationId:applicationSecret)`")
    ] = None,
) -> FastJSONResponse:
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    credentials = _basic_credentials(authorization)
    if credentials is not None and any(bad_text.problem(part) for part in credentials):
        # The request guard cannot see inside the base64 of the header: checked here.
        return _oauth_error(
            422,
            "invalid_request",
            "the HTTP Basic credentials contain a NUL character or invalid text",
            code="validation_failed",
        )
    if credentials is None:
        return _oauth_error(
            401, "invalid_client", "HTTP Basic applicationId:applicationSecret required"
        )
    token = await services.auth.issue_token(*credentials)
    if token is None:
        return _oauth_error(401, "invalid_client", "unknown application or wrong secret")
    return FastJSONResponse(
        {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_in": token.expires_in,
            "scope": "otp failover tracking",
        }
    )
