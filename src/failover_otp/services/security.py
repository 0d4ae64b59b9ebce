"""The security services, built together: managed codes, idempotency keys, abuse control."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from failover_otp.key_file import key_from_file
from failover_otp.security_settings import SecuritySettings
from failover_otp.services.abuse import AbuseGuard
from failover_otp.services.account_ports import Applications
from failover_otp.services.clock import Clock
from failover_otp.services.codes import CodeBook, CodeKeys, CodeService
from failover_otp.services.flows import FlowService
from failover_otp.services.idempotency import IdempotencyService
from failover_otp.services.storage import Storage

CODE_KEY_STATE = "code_hmac_key"


@dataclass
class Security:
    codes: CodeService
    idempotency: IdempotencyService
    abuse: AbuseGuard
    code_length: int


async def code_keys(settings: SecuritySettings, apps: Applications) -> CodeKeys:
    """``FOTP_CODE_HMAC_KEY``, else one derived from ``FOTP_KEY_FILE``, else a 256-bit key
    generated once and kept in ``service_state`` (every process then uses the same key). A key
    kept outside the database leaves no copy in it: a stored one is deleted."""
    configured = settings.code_hmac_key.get_secret_value() or key_from_file(
        settings.key_file, CODE_KEY_STATE
    )
    if configured:
        await apps.forget_state_value(CODE_KEY_STATE)
        return CodeKeys(configured.encode())
    return CodeKeys((await apps.state_value(CODE_KEY_STATE, secrets.token_hex(32))).encode())


async def build_code_book(settings: SecuritySettings, storage: Storage, clock: Clock) -> CodeBook:
    """The codes at rest, built before the flow service (which puts them into its sends)."""
    return CodeBook(
        storage.codes,
        clock,
        await code_keys(settings, storage.apps),
        ttl_seconds=settings.code_ttl_seconds,
        max_attempts=settings.code_max_attempts,
    )


def build_security(
    settings: SecuritySettings, storage: Storage, book: CodeBook, flows: FlowService, clock: Clock
) -> Security:
    codes = CodeService(
        book, flows, failures_per_number_per_day=settings.code_failures_per_number_per_day
    )
    return Security(
        codes=codes,
        idempotency=IdempotencyService(
            storage.idempotency,
            clock,
            ttl_seconds=settings.idempotency_ttl_seconds,
            lease_seconds=settings.idempotency_lease_seconds,
        ),
        abuse=AbuseGuard(
            settings,
            storage.counters,
            storage.spend,
            clock,
            admissions=storage.admissions,
            codes=storage.codes,
            refusals=storage.refusals,
        ),
        code_length=settings.code_length,
    )
