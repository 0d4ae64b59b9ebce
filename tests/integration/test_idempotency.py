"""Idempotency-Key semantics on a real database: many real sends with one key make one flow
(the rest of battery C3 runs on the in-memory storage: tests/unit/services/test_idempotency.py)."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select
from tests.support.security_stack import Stack, otp_body, security_stack

from failover_otp.services.idempotency import (
    IdempotencyInProgress,
    Reply,
)
from failover_otp.store.tables import flows, idempotency_keys

BODY = b'{"flow": [{"to": "+306912345670", "order": 1}]}'


async def _flow_count(stack: Stack) -> int:
    async with stack.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(flows))).scalar_one())


async def test_real_sends_with_one_key_make_one_flow(database_url: str) -> None:
    """100 sequential and 20 concurrent requests with one key: one flow, one Viber send."""
    async with security_stack(database_url, rate_limit_enabled=False) as stack:
        service = stack.security.idempotency
        body = otp_body(pin="482913")

        async def execute(flow_id: str) -> Reply:
            record, _ = await stack.send_otp(body, flow_id=flow_id)
            return Reply.json({"flowId": record.flow.id})

        async def resume(flow_id: str) -> Reply | None:
            record = await stack.flow_store.load(flow_id)
            return Reply.json({"flowId": flow_id}) if record else None

        async def call() -> tuple[int, bool]:
            try:
                reply, replayed = await service.run(
                    application_id="app-1",
                    key="checkout-7",
                    endpoint="POST /otp/send-failover",
                    body=BODY,
                    execute=execute,
                    resume=resume,
                )
            except IdempotencyInProgress:
                return 409, False
            return reply.status, replayed

        outcomes = Counter(await asyncio.gather(*(call() for _ in range(20))))
        outcomes.update([await call() for _ in range(100)])
        assert outcomes[(200, False)] == 1, outcomes
        assert set(outcomes) <= {(200, False), (200, True), (409, False)}
        assert await _flow_count(stack) == 1
        assert len(stack.provider.sent) == 1
        async with stack.db.read() as conn:
            keys = (await conn.execute(select(idempotency_keys))).mappings().all()
        assert [k["state"] for k in keys] == ["done"]
