"""Which code an OTP flow carries, and the stored echo without it.

- No ``pin`` on any ``ViberOtp`` step (or an SMS body with ``{pin}`` and no Viber step): the
  service generates the code; the caller never sees it and checks it with ``POST /otp/verify``.
- ``pin`` on every ``ViberOtp`` step (one value): the caller's code, kept the same way.
- Either way the stored request (the send response's ``flow`` echo, the tracking's SMS ``body``)
  never holds the code: ``pin`` is left out and the caller's code, wherever else it is (SMS
  bodies, labels, extra fields), reads ``{pin}``. The code
  itself is kept encrypted until the flow ends, and as a keyed hash for verification.
"""

from __future__ import annotations

from dataclasses import replace

from failover_otp.domain.code_text import PIN_PLACEHOLDER, scrub_code, without_pin
from failover_otp.domain.records import FlowMeta
from failover_otp.domain.statuses import Channel
from failover_otp.services.codes import generate_code
from failover_otp.services.errors import Invalid
from failover_otp.services.otp_requests import OtpAsk


def take_code(ask: OtpAsk, meta: FlowMeta, *, length: int) -> tuple[FlowMeta, str | None]:
    """The flow's code (given or generated; None when the flow carries none we know) and the
    meta to store, free of it."""
    viber = [s for s in ask.steps if s.channel is Channel.VIBER]
    given = {s.pin for s in viber if s.pin is not None}
    if len(given) > 1 or (given and any(s.pin is None for s in viber)):
        raise Invalid(
            "flow: every ViberOtp step carries the same pin, or none does (then the service "
            "generates the code)",
            details=[{"loc": ["body", "flow"], "msg": "inconsistent pin", "type": "value_error"}],
        )
    placeholder = any(PIN_PLACEHOLDER in s.sms_body for s in ask.steps if s.channel is Channel.SMS)
    if given:
        code = given.pop()
        # The caller's own code wherever it put it (SMS bodies, labels, extra fields, template
        # parameters) is stored as the placeholder it is sent through (services/codes.py).
        stored = [scrub_code(without_pin(step), code) for step in meta.request]
        return replace(meta, request=stored, label=scrub_code(meta.label, code)), code
    if viber or placeholder:
        # A generated code is in no request: nothing to scrub (rewriting a chance match would
        # show where the code is).
        stored = [without_pin(step) for step in meta.request]
        return replace(meta, request=stored), generate_code(length)
    return meta, None
