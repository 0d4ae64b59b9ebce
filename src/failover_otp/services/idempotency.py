"""``Idempotency-Key`` on the send endpoints (IETF draft-ietf-httpapi-idempotency-key-header).

- The first request with a key claims it (one atomic insert) together with the id of the flow it
  is about to create, runs, and stores its status and body. Every replay answers those, byte for
  byte, and sends nothing (header ``Idempotent-Replayed: true``).
- The same key with another body (or on the other endpoint): 422 ``idempotency_key_reused``.
- The same key while the first request still runs: 409 ``idempotency_in_progress``.
- A request refused before a flow existed (validation, limits) stores nothing: the key can be
  retried. If the process dies mid-request, the key's lease runs out and a retry resumes: it
  answers for the flow the first attempt created (whose sends the worker completes) instead of
  creating a second one.
- Keys are scoped per application and kept ``idempotency_ttl_seconds`` (24 h by default); after
  that the key counts as new.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
import structlog

from failover_otp.domain.idempotency_keys import DONE, IN_PROGRESS, KeyRecord
from failover_otp.services.clock import Clock
from failover_otp.services.errors import Conflict, Refused, ServiceError
from failover_otp.services.ports import IdempotencyKeys

log = structlog.get_logger(__name__)

# A key is 1 to 255 visible ASCII characters (a UUID is the usual choice).
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_PURGE_CHANCE = 0.002


class IdempotencyKeyReused(Refused):
    code = "idempotency_key_reused"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=1)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes

    @classmethod
    def json(cls, body: Any, status: int = 200) -> Reply:
        return cls(status, orjson.dumps(body))


# Runs the request for the given (pre-chosen) flow id.
Execute = Callable[[str], Awaitable[Reply]]
# Answers for a flow an earlier, interrupted attempt may have created (None: it did not).
Resume = Callable[[str], Awaitable[Reply | None]]


def fingerprint(endpoint: str, body: bytes) -> str:
    """SHA-256 of the endpoint and the canonical JSON body (keys sorted, no spaces)."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(endpoint.encode() + b"\n" + canonical).hexdigest()


class IdempotencyService:
    def __init__(
        self,
        store: IdempotencyKeys,
        clock: Clock,
        *,
        ttl_seconds: float = 86_400,
        lease_seconds: float = 60.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ttl = timedelta(seconds=ttl_seconds)
        self.lease = timedelta(seconds=lease_seconds)

    async def run(
        self,
        *,
        application_id: str,
        key: str | None,
        endpoint: str,
        body: bytes,
        execute: Execute,
        resume: Resume,
    ) -> tuple[Reply, bool]:
        """The reply to the request, and whether it is a replay."""
        if key is None:
            return await execute(str(uuid.uuid4())), False
        now = self.clock.now()
        mine = KeyRecord(
            application_id=application_id,
            key=key,
            endpoint=endpoint,
            fingerprint=fingerprint(endpoint, body),
            state=IN_PROGRESS,
            flow_id=str(uuid.uuid4()),
            response_status=None,
            response_body=None,
            created_at=now,
            lease_until=now + self.lease,
            expires_at=now + self.ttl,
        )
        held = await self.store.claim(mine, now)
        if random.random() < _PURGE_CHANCE:
            await self._purge()
        if held is None:
            return await self._execute(mine, execute, resume=None), False
        if held.fingerprint != mine.fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with a different request; use a new key"
            )
        if held.state == DONE:
            assert held.response_status is not None
            assert held.response_body is not None
            return Reply(held.response_status, held.response_body.encode()), True
        if held.lease_until > now or not await self.store.take_over(held, now + self.lease):
            raise IdempotencyInProgress(
                "a request with this Idempotency-Key is still being processed; retry shortly"
            )
        # The first attempt stopped (its process died, or it failed): finish its work.
        log.info("idempotency key taken over", flow_id=held.flow_id)
        return await self._execute(held, execute, resume=resume), False

    async def _execute(self, record: KeyRecord, execute: Execute, resume: Resume | None) -> Reply:
        assert record.flow_id is not None
        try:
            reply = await resume(record.flow_id) if resume is not None else None
            if reply is None:
                reply = await execute(record.flow_id)
        except ServiceError:
            # Refused before anything was created: nothing to remember, the key may be retried.
            await self.store.release(
                record.application_id, record.key, forget=True, now=self.clock.now()
            )
            raise
        except Exception:
            # A flow may exist: let the next attempt resume it at once.
            await self.store.release(
                record.application_id, record.key, forget=False, now=self.clock.now()
            )
            raise
        await self.store.complete(
            record.application_id, record.key, reply.status, reply.body.decode()
        )
        return reply

    async def _purge(self) -> None:
        try:
            await self.store.purge(self.clock.now())
        except Exception as exc:  # housekeeping must never fail a send
            log.warning("idempotency purge failed", error=str(exc))
