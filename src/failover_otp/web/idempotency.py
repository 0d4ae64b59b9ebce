"""The ``Idempotency-Key`` header of the send endpoints, and answering through the key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Request
from starlette.responses import Response

from failover_otp.services.idempotency import KEY_PATTERN, Execute, Reply, Resume
from failover_otp.web.deps import ServicesDep

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=KEY_PATTERN,
        description=(
            "Any unique string (a UUID): a retry with the same key and body answers the first "
            "response and sends nothing. Kept 24 h per application. Same key, other body: 422 "
            "`idempotency_key_reused`; first request still running: 409 "
            "`idempotency_in_progress`."
        ),
    ),
]


def render(reply: Reply, *, replayed: bool = False) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(
        content=reply.body,
        status_code=reply.status,
        media_type="application/json",
        headers=headers,
    )


async def answer(
    request: Request,
    services: ServicesDep,
    *,
    application_id: str,
    key: str | None,
    endpoint: str,
    execute: Execute,
    resume: Resume,
) -> Response:
    reply, replayed = await services.security.idempotency.run(
        application_id=application_id,
        key=key,
        endpoint=endpoint,
        body=await request.body() if key is not None else b"",
        execute=execute,
        resume=resume,
    )
    return render(reply, replayed=replayed)
