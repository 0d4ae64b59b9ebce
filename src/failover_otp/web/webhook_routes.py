"""``GET /webhooks/secret``: the key that signs an application's webhooks (docs/webhooks.md)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from failover_otp.services.errors import NotFound
from failover_otp.services.story import iso
from failover_otp.web.deps import ApplicationId, ServicesDep
from failover_otp.web.responses import FastJSONResponse

router = APIRouter(prefix="/webhooks", tags=["Webhooks"])


class WebhookSecret(BaseModel):
    applicationId: str = Field(description="the application the webhooks belong to")
    webhookSecret: str = Field(description="the signing key, `whsec_` + base64 (keep it secret)")
    signatureScheme: str = Field(description="how webhooks are signed (docs/webhooks.md)")
    previousSecretValidUntil: str | None = Field(
        description="after `apps rotate-webhook-secret --overlap`: until when webhooks also "
        "carry a signature made with the previous secret (null: they do not)"
    )


@router.get(
    "/secret",
    response_model=WebhookSecret,
    summary="The secret that signs this application's webhooks (Standard Webhooks, v1)",
)
async def webhook_secret(app_id: ApplicationId, services: ServicesDep) -> FastJSONResponse:
    secrets = await services.auth.webhook_secrets(app_id)
    if secrets is None:
        raise NotFound("no such application")
    overlapping = len(secrets.signing(services.clock.now())) > 1
    return FastJSONResponse(
        {
            "applicationId": app_id,
            "webhookSecret": secrets.current,
            "signatureScheme": "Standard Webhooks v1 (HMAC-SHA256)",
            "previousSecretValidUntil": iso(secrets.previous_until) if overlapping else None,
        },
        headers={"Cache-Control": "no-store"},
    )
