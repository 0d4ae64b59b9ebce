"""The send-time check of ``callback.url`` (both send use cases): a URL webhooks may not reach
is refused with a clear 422 before anything is counted or stored (docs/security.md)."""

from __future__ import annotations

from failover_otp.services.egress import CallbackGuard, RefusedDestination
from failover_otp.services.errors import Invalid


async def refuse_unsafe_callback(guard: CallbackGuard, url: str | None) -> None:
    if url is None:
        return
    try:
        await guard.check(url)
    except RefusedDestination as exc:
        detail = {"loc": ["body", "callback", "url"], "msg": str(exc), "type": "callback_refused"}
        raise Invalid(f"callback.url: {exc}", details=[detail]) from None
