"""The two send use cases: ``POST /otp/send-failover`` (``send_otp``) and ``POST /failover``
(``send_standard``), from a validated request to a started flow.

In order: the callback URL is checked (a URL webhooks may not reach is refused before anything
is counted or stored), the managed code is taken out of what is stored, the abuse and cost
checks admit the flow, its code is kept (encrypted, and as a keyed hash), and the flow starts.
The web layer answers through the ``Idempotency-Key`` around these (``web/idempotency.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from failover_otp.domain.adaptive_ttl import AutoTtl, TtlPolicy
from failover_otp.domain.events import Start
from failover_otp.domain.flow import FlowKind, StepPlan
from failover_otp.domain.records import FlowMeta, FlowRecord
from failover_otp.services.callback_check import refuse_unsafe_callback
from failover_otp.services.egress import CallbackGuard
from failover_otp.services.flows import FlowService
from failover_otp.services.otp_codes import take_code
from failover_otp.services.otp_requests import OTP_TTL_MAX_SECONDS, OtpAsk, otp_plans
from failover_otp.services.security import Security
from failover_otp.settings import Settings


class TtlPolicies(Protocol):
    """Applications' own auto ttl settings (``failover-otp auto-ttl``)."""

    async def get(self, application_id: str) -> TtlPolicy | None: ...


def default_ttl_policy(settings: Settings) -> TtlPolicy:
    """The service's auto ttl settings (FOTP_AUTO_TTL_*), for applications without their own.
    An OTP step's ttl is at most a day: so is the upper bound of its auto ttl."""
    bounds = AutoTtl(
        settings.auto_ttl_min_seconds,
        min(settings.auto_ttl_max_seconds, OTP_TTL_MAX_SECONDS),
        settings.auto_ttl_threshold,
    )
    return TtlPolicy(bounds, is_default=False)


@dataclass(frozen=True, slots=True)
class SentOtp:
    record: FlowRecord
    # The flow's code (the caller's or a generated one; None when it carries none): never in a
    # response, only for the in-process callers that must know it (tests, the demo).
    code: str | None


class SendService:
    def __init__(
        self,
        flows: FlowService,
        security: Security,
        callbacks: CallbackGuard,
        policies: TtlPolicies | None,
        *,
        default_policy: TtlPolicy,
    ) -> None:
        self.flows = flows
        self.security = security
        self.callbacks = callbacks
        # None: no application has settings of its own (the service's defaults serve all).
        self.policies = policies
        self.default_policy = default_policy

    async def ttl_policy(self, application_id: str, ask: OtpAsk) -> TtlPolicy:
        """The application's auto ttl settings, read only when a step may need them."""
        if not ask.asks_for_auto or self.policies is None:
            return self.default_policy
        return await self.policies.get(application_id) or self.default_policy

    async def send_otp(self, application_id: str, ask: OtpAsk, *, flow_id: str) -> SentOtp:
        plans, meta = otp_plans(ask, await self.ttl_policy(application_id, ask))
        await refuse_unsafe_callback(self.callbacks, meta.callback_url)
        meta, code = take_code(ask, meta, length=self.security.code_length)
        await self.security.abuse.admit(application_id, plans, meta.request, flow_id=flow_id)
        if code is not None:
            await self.security.codes.issue(
                flow_id=flow_id, application_id=application_id, phone=plans[0].to, code=code
            )
        record = await self.flows.start_flow(
            application_id=application_id,
            kind=FlowKind.OTP,
            plans=plans,
            meta=meta,
            flow_id=flow_id,
        )
        return SentOtp(record, code)

    async def send_standard(
        self,
        application_id: str,
        plans: tuple[StepPlan, ...],
        meta: FlowMeta,
        *,
        flow_id: str,
    ) -> FlowRecord:
        await refuse_unsafe_callback(self.callbacks, meta.callback_url)
        await self.security.abuse.admit(application_id, plans, meta.request, flow_id=flow_id)
        return await self.flows.start_flow(
            application_id=application_id,
            kind=FlowKind.STANDARD,
            plans=plans,
            meta=meta,
            flow_id=flow_id,
        )

    async def resume(self, flow_id: str) -> FlowRecord | None:
        """The flow an interrupted first attempt created, carried on (None: it created none)."""
        return await self.flows.apply(flow_id, Start())
