"""Flows, applications and webhook events to store through the ports (the contract suite and
the unit tests on the in-memory twins), made by the core itself."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import orjson

from failover_otp.domain.accounts import Application
from failover_otp.domain.events import Event, SendAccepted, Start
from failover_otp.domain.flow import Flow, FlowKind
from failover_otp.domain.machine import decide
from failover_otp.domain.outbox import NewWebhookEvent
from failover_otp.domain.records import FlowRecord
from failover_otp.services.otp_requests import otp_plans
from failover_otp.services.storage import Storage
from failover_otp.web.otp_requests import otp_ask
from failover_otp.web.otp_schemas import SendFailoverRequest
from tests.support.payloads import viber_sms_flow

T0 = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)


async def an_application(storage: Storage, app_id: str = "app-1", *, name: str = "") -> str:
    await storage.apps.create(
        Application(id=app_id, name=name or app_id, secret_hash="hash-" + app_id, created_at=T0)
    )
    return app_id


def new_flow(
    app_id: str = "app-1", *, now: datetime = T0, callback: str | None = None
) -> FlowRecord:
    """A Viber-then-SMS OTP flow, not started."""
    request = SendFailoverRequest.model_validate(viber_sms_flow(1, callback_url=callback))
    plans, meta = otp_plans(otp_ask(request))
    flow = Flow(
        id=str(uuid.uuid4()),
        application_id=app_id,
        kind=FlowKind.OTP,
        plans=plans,
        created_at=now,
        updated_at=now,
    )
    return FlowRecord(flow, meta)


def decided(flow: Flow, event: Event, now: datetime) -> Flow:
    return decide(flow, event, now=now).flow


def started(record: FlowRecord, now: datetime = T0) -> FlowRecord:
    """Stored started: its first step about to be sent, a send_retry deadline (version 1)."""
    return replace(record, flow=replace(decided(record.flow, Start(), now), version=1))


def accepted(flow: Flow, now: datetime, message_id: str | None = None) -> Flow:
    """The first step taken by the provider: waiting on its status (a step_ttl deadline)."""
    return decided(flow, SendAccepted(0, message_id or f"msg-{uuid.uuid4()}"), now)


async def stored_started(
    storage: Storage, app_id: str = "app-1", *, now: datetime = T0
) -> FlowRecord:
    record = started(new_flow(app_id, now=now), now)
    await storage.flows.create(record.flow, record.meta)
    return record


def webhook(
    flow_id: str,
    n: int,
    app_id: str = "app-1",
    url: str = "http://127.0.0.1:9/a",
    now: datetime = T0,
) -> NewWebhookEvent:
    return NewWebhookEvent(
        event_id=f"{flow_id}-{n}",
        flow_id=flow_id,
        application_id=app_id,
        url=url,
        body=orjson.dumps({"flowId": flow_id, "n": n}).decode(),
        created_at=now,
    )
