"""The embedded sandbox provider: Routee's behaviour in-process, with no network at all."""

from __future__ import annotations

import asyncio
import json
from typing import TypedDict

from failover_otp.domain.statuses import Channel, RejectReason, StepStatus
from failover_otp.providers.base import (
    DeliveryReport,
    ProviderUnavailable,
    ReportSink,
    SendReceipt,
    SendRefused,
    SendRequest,
)
from failover_otp.providers.retry import retry_unavailable
from failover_otp.providers.sandbox.account import Account
from failover_otp.providers.sandbox.profiles import Profile
from failover_otp.providers.sandbox.routee_sim import RouteeSim, SimMessage, SimRefused, SimReport

_PUSHES_AT_ONCE = 8


def message_text(request: SendRequest) -> str:
    """The text a step carries, for SMS part counting and the sandbox's records."""
    content = request.content
    if request.channel is Channel.SMS:
        message = content.get("message")
        body = message.get("body") if isinstance(message, dict) else content.get("body")
        return str(body or "")
    if request.channel is Channel.VIBER:
        return str(content.get("text") or content.get("pin") or "")
    # Voice: what the call says (its SAY verbs), for the sandbox's records.
    plan = content.get("dialPlan")
    verbs = plan.get("verbs") if isinstance(plan, dict) else None
    said = [
        str(verb["message"].get("text") or "")
        for verb in verbs or []
        if isinstance(verb, dict) and isinstance(verb.get("message"), dict)
    ]
    return " ".join(t for t in said if t)


def attempt_key(request: SendRequest) -> str:
    """One logical send: retries of the same step share it."""
    return f"{request.flow_id}:{request.step_index}"


class EmbeddedSandboxProvider:
    def __init__(self, *, time_scale: float = 1.0, profile: Profile | None = None) -> None:
        # No account to run out of: digit 8 is the embedded sandbox's only "insufficient balance".
        self.sim = RouteeSim(time_scale=time_scale, account=Account(opening=None), profile=profile)
        self._sink: ReportSink | None = None
        self._by_attempt: dict[str, str] = {}
        # Reports handed to the service at once: a burst (every SMS of a failover wave reports
        # Sent, then Delivered) would otherwise take every pooled connection and time the
        # service's own work out; the rest wait here, in order.
        self._pushing = asyncio.Semaphore(_PUSHES_AT_ONCE)

    async def start(self, sink: ReportSink) -> None:
        self._sink = sink
        self.sim.set_sink(self._push)

    async def _push(self, report: SimReport) -> None:
        if self._sink is None:
            return
        async with self._pushing:
            await self._sink(
                DeliveryReport(
                    message_id=report.message.message_id,
                    status=report.status,
                    detailed_status=report.detailed_status,
                    price=report.message.price,
                    at=report.at,
                    **call_facts(report.message, report.status),
                )
            )

    async def send(self, request: SendRequest) -> SendReceipt:
        return await retry_unavailable(lambda: self._send_once(request))

    async def _send_once(self, request: SendRequest) -> SendReceipt:
        try:
            message = self.sim.accept(
                channel=request.channel,
                to=request.to,
                body=message_text(request),
                ttl_seconds=request.ttl_seconds,
                label=request.label,
                attempt_key=attempt_key(request),
                extra={"content": json.loads(json.dumps(request.content, default=str))},
            )
        except SimRefused as refused:
            if refused.http_status >= 500:
                raise ProviderUnavailable(refused.message) from None
            reason = (
                RejectReason.INSUFFICIENT_BALANCE
                if refused.code == "400001009"
                else RejectReason.INVALID_REQUEST
            )
            raise SendRefused(reason, f"{refused.message} ({refused.code})") from None
        self._by_attempt[attempt_key(request)] = message.message_id
        return _receipt(message)

    async def lookup(self, channel: Channel, message_id: str) -> DeliveryReport | None:
        message = self.sim.find(message_id)
        if message is None:
            return None
        status, detailed = self.sim.current(message)
        return DeliveryReport(
            message_id, status, detailed, price=message.price, **call_facts(message, status)
        )

    async def find_sent(self, request: SendRequest) -> SendReceipt | None:
        message_id = self._by_attempt.get(attempt_key(request))
        message = self.sim.find(message_id) if message_id else None
        return _receipt(message) if message else None

    async def aclose(self) -> None:
        await self.sim.aclose()


class CallFacts(TypedDict, total=False):
    answered_by: str | None
    call_seconds: int | None


def call_facts(message: SimMessage, status: StepStatus) -> CallFacts:
    """What a Voice report says about the call once it was answered (none before, none else)."""
    if message.channel is not Channel.VOICE or status is not StepStatus.COMPLETED:
        return {}
    return {
        "answered_by": message.outcome.answered_by,
        "call_seconds": message.outcome.call_seconds,
    }


def _receipt(message: SimMessage) -> SendReceipt:
    return SendReceipt(
        message_id=message.message_id,
        price=message.price,
        parts=message.parts,
        country=message.country,
        operator=message.operator,
    )
