"""One-time codes the service manages: generation, keyed storage, sending and verification.

- A code is ``secrets.randbelow(10**n)`` zero-padded to ``n`` digits: uniform over all ``10**n``
  values, leading zeros included.
- The database holds ``HMAC-SHA256(server key, flow_id || code)`` for verification, and, while a
  step may still be sent, the code encrypted with AES-GCM under a key derived from the server key,
  the flow id as associated data (``services/code_cipher.py``). The encrypted copy goes when the
  flow ends or the code is used.
- The plaintext exists only in memory, in the provider request (Routee needs it) and in the
  message on the user's phone: never in logs, responses, webhooks or stored rows.
- Verification takes an attempt with one conditional ``UPDATE`` before it compares, and spends the
  code with another: 50 simultaneous right answers give exactly one ``approved``; 200
  simultaneous guesses are evaluated at most ``max_attempts`` times.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog

from failover_otp.domain.code_records import CodeRow, failure_key
from failover_otp.domain.code_text import fill_code, holds_placeholder
from failover_otp.domain.flow import FlowKind
from failover_otp.domain.records import FlowRecord
from failover_otp.domain.statuses import Channel, RejectReason
from failover_otp.providers.base import SendRefused, SendRequest
from failover_otp.services.clock import Clock
from failover_otp.services.code_cipher import CodeCipher, CodeUnreadable
from failover_otp.services.errors import NotFound
from failover_otp.services.flows import FlowService
from failover_otp.services.ports import CodeRecords

log = structlog.get_logger(__name__)

_FRESH_MAX = 10_000


def generate_code(length: int) -> str:
    """A uniform random code of ``length`` digits (``000000`` to ``999999`` for 6)."""
    if not 4 <= length <= 10:
        raise ValueError("code length must be 4 to 10 digits")
    return f"{secrets.randbelow(10**length):0{length}d}"


class VerifyStatus(StrEnum):
    APPROVED = "approved"
    WRONG_CODE = "wrong_code"
    EXPIRED = "expired"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    ALREADY_USED = "already_used"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    flow_id: str
    status: VerifyStatus

    @property
    def valid(self) -> bool:
        return self.status is VerifyStatus.APPROVED

    def body(self) -> dict[str, Any]:
        return {"flowId": self.flow_id, "valid": self.valid, "status": self.status.value}


class CodeKeys:
    """The server key's two uses: the verification hash and the in-flight encryption."""

    def __init__(self, server_key: bytes) -> None:
        if len(server_key) < 16:
            raise ValueError("the code HMAC key needs at least 16 bytes")
        self._key = server_key
        self._cipher = CodeCipher(server_key)

    def digest(self, flow_id: str, code: str) -> str:
        """``HMAC-SHA256(server key, flow_id || code)`` in hex (flow ids have a fixed length)."""
        return hmac.new(self._key, (flow_id + code).encode(), hashlib.sha256).hexdigest()

    def encrypt(self, flow_id: str, code: str) -> str:
        return self._cipher.encrypt(flow_id, code)

    def decrypt(self, flow_id: str, cipher: str) -> str:
        """Raises :class:`CodeUnreadable` for a row that does not decrypt under this key."""
        return self._cipher.decrypt(flow_id, cipher)


def with_code(content: Mapping[str, Any], channel: Channel, code: str) -> dict[str, Any]:
    """A step's stored content with the code put in: ``pin`` of a Viber OTP step (and its
    ``templateParams``), and every ``{pin}`` (SMS bodies, and wherever a caller's own code was
    scrubbed from: extra fields, template parameters, labels)."""
    filled: dict[str, Any] = fill_code(content, code)
    if channel is Channel.VIBER:
        filled["pin"] = code
        params = filled.get("templateParams")
        if isinstance(params, Mapping):
            filled["templateParams"] = {**params, "pin": code}
    return filled


def needs_code(content: Mapping[str, Any], channel: Channel) -> bool:
    """Whether a step's stored content waits for a managed code."""
    if channel is Channel.VIBER and content.get("type") == "ViberOtp" and not content.get("pin"):
        return True
    return holds_placeholder(content)


class CodeBook:
    """The codes at rest: kept when a flow starts, put into a step's content right before its
    send. The flow service calls ``prepare_send``; nothing here needs the flow service, so it is
    built first (bootstrap) and verification (``CodeService``) is built on both."""

    def __init__(
        self,
        store: CodeRecords,
        clock: Clock,
        keys: CodeKeys,
        *,
        ttl_seconds: float,
        max_attempts: int,
    ) -> None:
        self.store = store
        self.clock = clock
        self.keys = keys
        # Wall-clock time, never scaled by --time-scale: a security limit, not a delivery wait.
        self.ttl = timedelta(seconds=ttl_seconds)
        self.max_attempts = max_attempts
        # Codes issued by this process whose flow's first send has not happened yet: that send
        # needs no database read (nobody can have verified a code not yet delivered).
        self._fresh: dict[str, str] = {}

    async def issue(self, *, flow_id: str, application_id: str, phone: str, code: str) -> None:
        """Remember ``code`` for the flow about to start (before its first send)."""
        now = self.clock.now()
        if len(self._fresh) >= _FRESH_MAX:  # only flows whose start failed linger here
            self._fresh.clear()
        self._fresh[flow_id] = code
        await self.store.put(
            CodeRow(
                flow_id=flow_id,
                application_id=application_id,
                phone=phone,
                code_hmac=self.keys.digest(flow_id, code),
                code_cipher=self.keys.encrypt(flow_id, code),
                created_at=now,
                expires_at=now + self.ttl,
                attempts=0,
                max_attempts=self.max_attempts,
            )
        )

    async def prepare_send(self, record: FlowRecord, request: SendRequest) -> SendRequest:
        """Put the code into a step's content just before the provider gets it.

        A step due after the code was used or expired is not sent at all (refused, so nothing is
        paid for a code nobody can use any more).
        """
        if record.flow.kind is not FlowKind.OTP:
            return request
        fresh = self._fresh.pop(record.flow.id, None)
        if fresh is not None and request.step_index == 0:
            return replace(request, content=with_code(request.content, request.channel, fresh))
        if not needs_code(request.content, request.channel):
            # A step whose content carries no code of ours (the caller's own code, or no code):
            # nothing to read. A verified code cancels its flow, so no later step is due.
            return request
        row = await self.store.get(record.flow.id)
        if row is None:
            # The code's row was purged (a flow that outlived its code by a day).
            raise SendRefused(
                RejectReason.INVALID_REQUEST, "not sent: the code expired before this step"
            )
        if row.used_at is not None:
            raise SendRefused(
                RejectReason.INVALID_REQUEST, "not sent: the code was already verified"
            )
        if row.expires_at <= self.clock.now() or row.code_cipher is None:
            raise SendRefused(
                RejectReason.INVALID_REQUEST, "not sent: the code expired before this step"
            )
        try:
            code = self.keys.decrypt(record.flow.id, row.code_cipher)
        except CodeUnreadable as exc:
            # Never send a code the user cannot verify: the row was changed, or the server key.
            log.error("stored code unreadable", flow_id=record.flow.id, error=str(exc))
            raise SendRefused(
                RejectReason.SERVER_ERROR, "not sent: the stored code could not be decrypted"
            ) from None
        return replace(request, content=with_code(request.content, request.channel, code))


class CodeService:
    """Verification: takes an attempt, compares, spends the code and cancels what is left of
    the flow (a failover still pending would be paid for nothing)."""

    def __init__(
        self, book: CodeBook, flows: FlowService, *, failures_per_number_per_day: int
    ) -> None:
        self.book = book
        self.store = book.store
        self.keys = book.keys
        self.clock = book.clock
        self.flows = flows
        self.failures_per_number_per_day = failures_per_number_per_day

    async def issue(self, *, flow_id: str, application_id: str, phone: str, code: str) -> None:
        """Remember ``code`` for the flow about to start (before its first send)."""
        await self.book.issue(
            flow_id=flow_id, application_id=application_id, phone=phone, code=code
        )

    async def verify(self, application_id: str, flow_id: str, code: str) -> VerifyResult:
        now = self.clock.now()
        budget = self.failures_per_number_per_day
        row, taken = await self.store.take_attempt(
            flow_id, application_id, now, failure_budget=budget
        )
        if row is None or row.application_id != application_id:
            raise NotFound(f"no code to verify for flow {flow_id!r}")
        if not taken:
            return VerifyResult(flow_id, self._blocked(row, now) or VerifyStatus.TOO_MANY_ATTEMPTS)
        if not hmac.compare_digest(self.keys.digest(flow_id, code), row.code_hmac):
            # The attempt's failure slot stays taken: it was a wrong code.
            return VerifyResult(flow_id, VerifyStatus.WRONG_CODE)
        slot = failure_key(application_id, row.phone) if budget else None
        if not await self.store.mark_used(flow_id, now, give_back=slot):
            return VerifyResult(flow_id, VerifyStatus.ALREADY_USED)
        # The user has the code: a failover still pending would be paid for nothing.
        await self.flows.cancel(flow_id, "code verified")
        log.info("code verified", flow_id=flow_id)
        return VerifyResult(flow_id, VerifyStatus.APPROVED)

    def _blocked(self, row: CodeRow, now: datetime) -> VerifyStatus | None:
        if row.used_at is not None:
            return VerifyStatus.ALREADY_USED
        if row.expires_at <= now:
            return VerifyStatus.EXPIRED
        if row.attempts >= row.max_attempts:
            return VerifyStatus.TOO_MANY_ATTEMPTS
        return None
