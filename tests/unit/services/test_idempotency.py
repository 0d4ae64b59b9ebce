"""Idempotency-Key semantics on the in-memory storage (battery C3; many real sends with one key
on a real database: tests/integration/test_idempotency.py)."""

from __future__ import annotations

import asyncio

import pytest
from tests.support.security_stack import memory_stack
from tests.support.waiting import wait_until_async

from failover_otp.services.errors import Invalid
from failover_otp.services.idempotency import (
    IdempotencyInProgress,
    IdempotencyKeyReused,
    IdempotencyService,
    Reply,
    fingerprint,
)
from failover_otp.web.error_handlers import service_error_response

BODY = b'{"flow": [{"to": "+306912345670", "order": 1}]}'


class Calls:
    """An endpoint stand-in that counts its executions and resumptions."""

    def __init__(self) -> None:
        self.executed: list[str] = []
        self.resumed: list[str] = []
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None
        self.existing: set[str] = set()

    async def execute(self, flow_id: str) -> Reply:
        self.executed.append(flow_id)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        self.existing.add(flow_id)
        return Reply.json({"flowId": flow_id, "n": len(self.executed)})

    async def resume(self, flow_id: str) -> Reply | None:
        self.resumed.append(flow_id)
        if flow_id not in self.existing:
            return None
        return Reply.json({"flowId": flow_id, "resumed": True})


async def _run(
    service: IdempotencyService,
    calls: Calls,
    *,
    key: str | None = "key-1",
    body: bytes = BODY,
    app: str = "app-1",
    endpoint: str = "POST /otp/send-failover",
) -> tuple[Reply, bool]:
    return await service.run(
        application_id=app,
        key=key,
        endpoint=endpoint,
        body=body,
        execute=calls.execute,
        resume=calls.resume,
    )


def test_fingerprint_is_of_the_canonical_body() -> None:
    a = fingerprint("POST /x", b'{"b": 1, "a": [1, 2]}')
    assert a == fingerprint("POST /x", b'{"a":[1,2],"b":1}')
    assert a != fingerprint("POST /x", b'{"a":[2,1],"b":1}')
    assert a != fingerprint("POST /y", b'{"a":[1,2],"b":1}')


async def test_replay_answers_the_stored_response_without_running() -> None:
    async with memory_stack() as stack:
        service, calls = stack.security.idempotency, Calls()
        first, replayed = await _run(service, calls)
        assert replayed is False
        for _ in range(100):
            again, replayed = await _run(service, calls)
            assert replayed is True
            assert again == first  # same status, same bytes
        assert len(calls.executed) == 1
        # Another application's identical key is its own.
        _, replayed = await _run(service, calls, app="app-2")
        assert replayed is False
        assert len(calls.executed) == 2
        # No key: no idempotency.
        await _run(service, calls, key=None)
        await _run(service, calls, key=None)
        assert len(calls.executed) == 4


async def test_same_key_other_body_or_endpoint_is_refused() -> None:
    async with memory_stack() as stack:
        service, calls = stack.security.idempotency, Calls()
        await _run(service, calls)
        with pytest.raises(IdempotencyKeyReused):
            await _run(service, calls, body=b'{"flow": []}')
        with pytest.raises(IdempotencyKeyReused):
            await _run(service, calls, endpoint="POST /failover")
        # Key order and spacing are not a different body.
        _, replayed = await _run(
            service, calls, body=b'{"flow":[{"order":1,"to":"+306912345670"}]}'
        )
        assert replayed is True
        assert len(calls.executed) == 1


async def test_a_duplicate_while_the_first_runs_gets_409() -> None:
    async with memory_stack() as stack:
        service, calls = stack.security.idempotency, Calls()
        calls.gate = asyncio.Event()
        first = asyncio.create_task(_run(service, calls))
        await wait_until_async(lambda: calls.executed, what="the first request to run")
        with pytest.raises(IdempotencyInProgress) as refused:
            await _run(service, calls)
        answer = service_error_response(refused.value)
        assert answer.status_code == 409
        assert answer.headers["Retry-After"] == "1"
        calls.gate.set()
        reply, _ = await first
        replay, replayed = await _run(service, calls)
        assert replayed is True
        assert replay == reply
        assert len(calls.executed) == 1


async def test_keys_live_24_hours() -> None:
    async with memory_stack() as stack:
        service, calls = stack.security.idempotency, Calls()
        first, _ = await _run(service, calls)
        stack.clock.advance(23 * 3600)
        assert await _run(service, calls) == (first, True)
        stack.clock.advance(2 * 3600)  # 25 h: the key counts as new
        fresh, replayed = await _run(service, calls)
        assert replayed is False
        assert fresh != first
        assert len(calls.executed) == 2


async def test_a_refused_request_leaves_no_key() -> None:
    async with memory_stack() as stack:
        service, calls = stack.security.idempotency, Calls()
        calls.fail = Invalid("no")
        with pytest.raises(Invalid):
            await _run(service, calls)
        calls.fail = None
        _, replayed = await _run(service, calls)
        assert replayed is False
        assert len(calls.executed) == 2


async def test_a_retry_after_a_failure_resumes_the_same_flow() -> None:
    async with memory_stack() as stack:
        service, calls = stack.security.idempotency, Calls()
        calls.fail = RuntimeError("crashed after creating the flow")
        with pytest.raises(RuntimeError):
            await _run(service, calls)
        (flow_id,) = calls.executed
        calls.existing.add(flow_id)  # the flow was stored before the failure
        calls.fail = None
        reply, replayed = await _run(service, calls)
        assert replayed is False
        assert calls.resumed == [flow_id]
        assert len(calls.executed) == 1  # resumed, not created again
        assert b'"resumed":true' in reply.body


async def test_a_dead_runner_is_taken_over_when_its_lease_ends() -> None:
    async with memory_stack(idempotency_lease_seconds=30) as stack:
        service, calls = stack.security.idempotency, Calls()
        calls.gate = asyncio.Event()
        dead = asyncio.create_task(_run(service, calls))
        await wait_until_async(lambda: calls.executed, what="the first request to run")
        dead.cancel()  # its process "died" holding the key
        (flow_id,) = calls.executed
        calls.gate = None
        with pytest.raises(IdempotencyInProgress):
            await _run(service, calls)
        stack.clock.advance(31)
        _, replayed = await _run(service, calls)
        assert replayed is False
        assert calls.resumed == [flow_id]
        assert calls.executed == [flow_id, flow_id]  # the same flow id, never a second one


async def test_purge_drops_expired_keys() -> None:
    async with memory_stack() as stack:
        service, calls = stack.security.idempotency, Calls()
        await _run(service, calls, key="old")
        stack.clock.advance(86_401)
        await _run(service, calls, key="new")
        assert await service.store.purge(stack.clock.now()) == 1
