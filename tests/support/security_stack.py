"""The service layer with the security services, in-process, on a real database: a clock the
test moves, and a provider that records every request (content included)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from failover_otp.domain.flow import StepPlan
from failover_otp.domain.records import FlowRecord
from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.providers.base import DeliveryReport, ReportSink, SendReceipt, SendRequest
from failover_otp.services.egress import CallbackGuard, EgressPolicy
from failover_otp.services.flows import FlowService
from failover_otp.services.security import Security, build_code_book, build_security
from failover_otp.services.sending import SendService, TtlPolicies, default_ttl_policy
from failover_otp.services.storage import Storage
from failover_otp.settings import Settings
from failover_otp.store.app_store import AppStore
from failover_otp.store.database import Database
from failover_otp.store.deadline_queue import DeadlineQueue
from failover_otp.store.flow_store import FlowStore
from failover_otp.store.migrate import upgrade
from failover_otp.store.sql_storage import sql_storage
from failover_otp.store.ttl_policy_store import TtlPolicyStore
from failover_otp.web.otp_requests import otp_ask
from failover_otp.web.otp_schemas import SendFailoverRequest
from tests.support.memory_storage import memory_storage

PRICES = {Channel.VIBER: 0.0093, Channel.SMS: 0.0375, Channel.VOICE: 0.042}


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@dataclass
class RecordingProvider:
    """Accepts everything; remembers each request as the provider got it. ``priced``: the
    receipt carries the price (else it comes later, in a report)."""

    sent: list[SendRequest] = field(default_factory=list)
    sink: ReportSink | None = None
    priced: bool = True

    async def start(self, sink: ReportSink) -> None:
        self.sink = sink

    async def send(self, request: SendRequest) -> SendReceipt:
        self.sent.append(request)
        price = PRICES[request.channel] if self.priced else None
        return SendReceipt(message_id=str(uuid.uuid4()), price=price)

    async def lookup(self, channel: Channel, message_id: str) -> DeliveryReport | None:
        return None

    async def find_sent(self, request: SendRequest) -> SendReceipt | None:
        return None

    async def aclose(self) -> None:
        return None


@dataclass
class ServiceStack:
    """The services on a storage bundle: the in-memory twins (``memory_stack``) or a database
    (``security_stack``'s ``Stack``)."""

    settings: Settings
    clock: FakeClock
    provider: RecordingProvider
    flows: FlowService
    storage: Storage
    security: Security
    sending: SendService

    async def send_otp(
        self, body: dict[str, Any], *, application_id: str = "app-1", flow_id: str | None = None
    ) -> tuple[FlowRecord, str | None]:
        """What POST /otp/send-failover does after validation: (the flow, its code)."""
        ask = otp_ask(SendFailoverRequest.model_validate(body))
        sent = await self.sending.send_otp(
            application_id, ask, flow_id=flow_id or str(uuid.uuid4())
        )
        return sent.record, sent.code

    async def admit(self, application_id: str, plans: list[StepPlan]) -> str:
        """The abuse checks alone, for a flow of ``plans`` (never created): its id."""
        flow_id = str(uuid.uuid4())
        await self.security.abuse.admit(application_id, plans, flow_id=flow_id)
        return flow_id

    async def report(
        self, message_id: str, status: StepStatus, *, price: float | None = None
    ) -> None:
        await self.flows.report(DeliveryReport(message_id, status, price=price))

    def sent_to(self, flow_id: str) -> list[SendRequest]:
        return [r for r in self.provider.sent if r.flow_id == flow_id]


@dataclass
class Stack(ServiceStack):
    """On a real database, with its concrete stores for tests that read it directly."""

    db: Database
    flow_store: FlowStore
    apps: AppStore
    deadline_queue: DeadlineQueue


async def _services(
    settings: Settings,
    storage: Storage,
    policies: TtlPolicies | None,
    provider: RecordingProvider | None = None,
) -> tuple[FakeClock, RecordingProvider, FlowService, Security, SendService]:
    clock = FakeClock()
    provider = provider or RecordingProvider()
    codes = await build_code_book(settings, storage, clock)
    flows = FlowService(
        storage.flows,
        provider,
        clock,
        time_scale=settings.time_scale,
        prepare_send=codes.prepare_send,
    )
    await provider.start(flows.report)
    security = build_security(settings, storage, codes, flows, clock)
    callbacks = CallbackGuard(
        EgressPolicy.from_settings(
            settings.webhook_allowed_targets, allow_http=settings.webhook_allow_http
        )
    )
    default = default_ttl_policy(settings)
    sending = SendService(flows, security, callbacks, policies, default_policy=default)
    return clock, provider, flows, security, sending


@asynccontextmanager
async def memory_stack(
    *, provider: RecordingProvider | None = None, **overrides: Any
) -> AsyncIterator[ServiceStack]:
    """The services on the in-memory twins (store/memory.py): no database, no I/O.
    ``provider``: a recording provider of the test's own (one that misbehaves on purpose)."""
    settings = Settings(**overrides)
    storage = memory_storage()
    # No application's own auto ttl settings: those live in the database only.
    clock, provider, flows, security, sending = await _services(settings, storage, None, provider)
    try:
        yield ServiceStack(settings, clock, provider, flows, storage, security, sending)
    finally:
        await flows.aclose()


@asynccontextmanager
async def security_stack(database_url: str, **overrides: Any) -> AsyncIterator[Stack]:
    settings = Settings(database_url=database_url, **overrides)
    await upgrade(database_url)
    db = Database(database_url)
    storage = sql_storage(db)
    policies = TtlPolicyStore(db)
    clock, provider, flows, security, sending = await _services(settings, storage, policies)
    try:
        yield Stack(
            settings,
            clock,
            provider,
            flows,
            storage,
            security,
            sending,
            db,
            FlowStore(db),
            AppStore(db),
            DeadlineQueue(db),
        )
    finally:
        await flows.aclose()
        await db.dispose()


def otp_body(
    number: str = "+306912345671",
    *,
    pin: str | None = None,
    sms_body: str = "Your code is {pin}",
    viber_ttl: int = 120,
    label: str = "login",
) -> dict[str, Any]:
    viber: dict[str, Any] = {
        "type": "ViberOtp",
        "to": number,
        "order": 1,
        "ttl": viber_ttl,
        "senderInfoTrackingId": "sender-1",
        "templateId": "0aac888f-2ee2-4112-9659-1755a951966a",
        "label": label,
    }
    if pin is not None:
        viber["pin"] = pin
    return {
        "flow": [
            viber,
            {
                "type": "Sms",
                "to": number.lstrip("+"),
                "order": 2,
                "ttl": 300,
                "from": "MyBrand",
                "message": {"body": sms_body},
                "label": label,
            },
        ]
    }
