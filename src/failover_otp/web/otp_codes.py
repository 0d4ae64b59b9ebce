"""Which code an OTP flow carries, and the stored echo without it.

- No ``pin`` on any ``ViberOtp`` step (or an SMS body with ``{pin}`` and no Viber step): the
  service generates the code; the caller never sees it and checks it with ``POST /otp/verify``.
- ``pin`` on every ``ViberOtp`` step (one value): the caller's code, kept the same way.
- Either way the stored request (the send response's ``flow`` echo, the tracking's SMS ``body``)
  never holds the code: ``pin`` is left out and the code in SMS bodies reads ``{pin}``. The code
  itself is kept encrypted until the flow ends, and as a keyed hash for verification.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from failover_otp.errors import ValidationFailed
from failover_otp.services.codes import generate_code
from failover_otp.store.code_store import PIN_PLACEHOLDER
from failover_otp.store.flow_store import FlowMeta
from failover_otp.web.otp_schemas import SendFailoverRequest, SmsStep, ViberOtpStep


def _without_pin(step: dict[str, Any]) -> dict[str, Any]:
    item = {k: v for k, v in step.items() if k != "pin"}
    params = item.get("templateParams")
    if isinstance(params, dict) and "pin" in params:
        item["templateParams"] = {k: v for k, v in params.items() if k != "pin"}
    return item


def take_code(
    request: SendFailoverRequest, meta: FlowMeta, *, length: int
) -> tuple[FlowMeta, str | None]:
    """The flow's code (given or generated; None when the flow carries none we know) and the
    meta to store, free of it."""
    viber = [s for s in request.flow if isinstance(s, ViberOtpStep)]
    given = {s.pin for s in viber if s.pin is not None}
    if len(given) > 1 or (given and any(s.pin is None for s in viber)):
        raise ValidationFailed(
            "flow: every ViberOtp step carries the same pin, or none does (then the service "
            "generates the code)",
            details=[{"loc": ["body", "flow"], "msg": "inconsistent pin", "type": "value_error"}],
        )
    placeholder = any(
        PIN_PLACEHOLDER in s.message.body for s in request.flow if isinstance(s, SmsStep)
    )
    if given:
        code = given.pop()
    elif viber or placeholder:
        code = generate_code(length)
    else:
        return meta, None
    stored: list[dict[str, Any]] = []
    for step in meta.request:
        item = _without_pin(step)
        message = item.get("message")
        if isinstance(message, dict) and isinstance(message.get("body"), str):
            # The caller's own code in an SMS body becomes the placeholder it is sent through.
            item["message"] = {**message, "body": message["body"].replace(code, PIN_PLACEHOLDER)}
        stored.append(item)
    return replace(meta, request=stored), code
