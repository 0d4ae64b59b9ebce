"""The managed code at rest across the AES-GCM upgrade: a flow whose code was stored by the
earlier scheme still fails over with the right code; a row that does not decrypt is never sent
as a wrong code."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from tests.support.security_stack import Stack, otp_body, security_stack
from tests.unit.services.test_code_cipher import legacy_encrypt

from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.services.codes import VerifyStatus
from failover_otp.store.tables import otp_codes

pytestmark = pytest.mark.asyncio

KEY = "s" * 40


async def set_cipher(stack: Stack, flow_id: str, stored: str) -> None:
    async with stack.db.write() as conn:
        await conn.execute(
            update(otp_codes).where(otp_codes.c.flow_id == flow_id).values(code_cipher=stored)
        )


async def test_a_flow_stored_by_the_earlier_scheme_fails_over_with_its_code(
    database_url: str,
) -> None:
    async with security_stack(database_url, code_hmac_key=KEY) as stack:
        record, code = await stack.send_otp(otp_body())
        assert code is not None
        row = await stack.security.codes.store.get(record.flow.id)
        assert row is not None
        assert row.code_cipher is not None
        assert row.code_cipher.startswith("v2:")
        # As the previous release would have written it, before the upgrade.
        await set_cipher(stack, record.flow.id, legacy_encrypt(KEY.encode(), record.flow.id, code))
        await stack.report(record.flow.steps[0].tracking_id, StepStatus.UNDELIVERED)
        sms = stack.sent_to(record.flow.id)[1]
        assert sms.content["message"]["body"] == f"Your code is {code}"
        result = await stack.security.codes.verify("app-1", record.flow.id, code)
        assert result.status is VerifyStatus.APPROVED


async def test_a_tampered_row_is_not_sent(database_url: str) -> None:
    async with security_stack(database_url) as stack:
        record, code = await stack.send_otp(otp_body())
        assert code is not None
        other, _ = await stack.send_otp(otp_body("+306912345672"))
        moved = await stack.security.codes.store.get(other.flow.id)
        assert moved is not None
        assert moved.code_cipher is not None
        # Another flow's encrypted code copied into this flow's row.
        await set_cipher(stack, record.flow.id, moved.code_cipher)
        await stack.report(record.flow.steps[0].tracking_id, StepStatus.UNDELIVERED)
        assert [r.channel for r in stack.sent_to(record.flow.id)] == [Channel.VIBER]
        flow = await stack.flow_store.load(record.flow.id)
        assert flow is not None
        assert "could not be decrypted" in (flow.flow.steps[-1].error_message or "")
