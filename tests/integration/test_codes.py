"""Managed codes on a real database: what is stored, and where, never holds the code (the rest
runs on the in-memory storage: tests/unit/services/test_codes.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, inspect, select, text
from tests.support.security_stack import Stack, otp_body, security_stack

from failover_otp.domain.statuses import Channel, FlowStatus, StepStatus
from failover_otp.services.codes import (
    CodeKeys,
    VerifyStatus,
)
from failover_otp.services.security import CODE_KEY_STATE
from failover_otp.store.tables import otp_codes

# --- the generator (no database) -----------------------------------------------------------

# chi-square critical value for 9 degrees of freedom at p = 0.001
_CHI2_9DF_P001 = 27.877


# --- on a database ---------------------------------------------------------------------------


async def _stored_text(stack: Stack) -> str:
    """Every value of every row of every table, as one string."""
    chunks: list[str] = []
    async with stack.db.read() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        for name in names:
            rows = (await conn.execute(text(f'SELECT * FROM "{name}"'))).all()  # noqa: S608
            chunks.extend(repr(tuple(row)) for row in rows)
    return "\n".join(chunks)


async def test_generated_code_is_sent_and_never_stored(database_url: str) -> None:
    async with security_stack(database_url, code_length=10) as stack:
        record, code = await stack.send_otp(otp_body())
        assert code is not None
        assert len(code) == 10
        (viber,) = stack.sent_to(record.flow.id)
        assert viber.content["pin"] == code
        # The stored echo (the send response's flow) holds no code.
        assert "pin" not in record.meta.request[0]
        assert record.meta.request[1]["message"]["body"] == "Your code is {pin}"
        assert code not in await _stored_text(stack)

        # Viber fails: the SMS carries the same code.
        await stack.report(record.flow.steps[0].tracking_id, StepStatus.UNDELIVERED)
        sms = stack.sent_to(record.flow.id)[1]
        assert sms.content["message"]["body"] == f"Your code is {code}"
        await stack.report(
            (await stack.flow_store.load(record.flow.id)).flow.steps[1].tracking_id,  # type: ignore[union-attr]
            StepStatus.DELIVERED,
        )
        ended = await stack.flow_store.load(record.flow.id)
        assert ended is not None
        assert ended.flow.status is FlowStatus.SUCCEEDED
        row = await stack.security.codes.store.get(record.flow.id)
        assert row is not None
        assert row.code_cipher is None  # nothing left to send: the encrypted copy is gone
        assert code not in await _stored_text(stack)
        if database_url.startswith("sqlite"):
            path = Path(database_url.removeprefix("sqlite:///"))
            for file in path.parent.glob(path.name + "*"):  # the database, its WAL and SHM
                assert code.encode() not in file.read_bytes()
        # Still verifiable after the flow ended (the user types it in later).
        result = await stack.security.codes.verify("app-1", record.flow.id, code)
        assert result.status is VerifyStatus.APPROVED


async def test_caller_pin_is_kept_like_a_generated_one(database_url: str) -> None:
    async with security_stack(database_url) as stack:
        record, code = await stack.send_otp(
            otp_body(pin="90817263", sms_body="Your code is 90817263")
        )
        assert code == "90817263"
        assert stack.sent_to(record.flow.id)[0].content["pin"] == "90817263"
        assert "pin" not in record.meta.request[0]
        assert record.meta.request[1]["message"]["body"] == "Your code is {pin}"
        assert "90817263" not in await _stored_text(stack)
        await stack.report(record.flow.steps[0].tracking_id, StepStatus.FAILED)
        assert stack.sent_to(record.flow.id)[1].content["message"]["body"] == (
            "Your code is 90817263"
        )
        result = await stack.security.codes.verify("app-1", record.flow.id, "90817263")
        assert result.body() == {"flowId": record.flow.id, "valid": True, "status": "approved"}


async def test_a_caller_pin_in_labels_and_extra_fields_is_never_stored(database_url: str) -> None:
    """Issue 15 item 11: a careless client copies its pin into labels and extra fields. Every
    stored field holds ``{pin}`` instead, before and after the flow ends; the provider still
    gets the fields as the client wrote them."""
    pin = "482913"
    async with security_stack(database_url) as stack:
        body = otp_body(pin=pin, sms_body=f"Your code is {pin}", label=f"login {pin}")
        viber, sms = body["flow"]
        viber["businessName"] = f"Bank {pin}"
        viber["templateParams"] = {"note": f"code {pin}", "nested": [{"again": pin}]}
        viber["otp"] = int(pin)  # an extra field, as a JSON number
        sms["message"]["reference"] = f"ref-{pin}"
        record, code = await stack.send_otp(body)
        assert code == pin
        assert record.meta.label == "login {pin}"
        assert record.meta.request[0]["templateParams"] == {
            "note": "code {pin}",
            "nested": [{"again": "{pin}"}],
        }
        assert pin not in await _stored_text(stack)
        sent = stack.sent_to(record.flow.id)[0].content
        assert sent["label"] == f"login {pin}"
        assert sent["businessName"] == f"Bank {pin}"
        assert sent["templateParams"] == {
            "note": f"code {pin}",
            "nested": [{"again": pin}],
            "pin": pin,
        }
        assert sent["otp"] == pin
        # The Viber step fails: the SMS goes as written too, and the flow ends.
        await stack.report(record.flow.steps[0].tracking_id, StepStatus.FAILED)
        sms_sent = stack.sent_to(record.flow.id)[1].content
        assert sms_sent["message"]["body"] == f"Your code is {pin}"
        assert sms_sent["message"]["reference"] == f"ref-{pin}"
        loaded = await stack.flow_store.load(record.flow.id)
        assert loaded is not None
        await stack.report(loaded.flow.steps[1].tracking_id, StepStatus.DELIVERED)
        ended = await stack.flow_store.load(record.flow.id)
        assert ended is not None
        assert ended.flow.status is FlowStatus.SUCCEEDED
        assert pin not in await _stored_text(stack)


async def test_sms_only_flow_without_placeholder_is_redacted_when_it_ends(
    database_url: str,
) -> None:
    async with security_stack(database_url) as stack:
        body = otp_body(sms_body="Your code is 555123")
        body["flow"] = [body["flow"][1]]
        record, code = await stack.send_otp(body)
        assert code is None  # a literal code the service cannot know
        assert await stack.security.codes.store.get(record.flow.id) is None
        sms = stack.sent_to(record.flow.id)[0]
        assert sms.content["message"]["body"] == "Your code is 555123"
        await stack.report(record.flow.steps[0].tracking_id, StepStatus.DELIVERED)
        ended = await stack.flow_store.load(record.flow.id)
        assert ended is not None
        assert ended.flow.status is FlowStatus.SUCCEEDED
        assert ended.meta.request[0]["message"]["body"] == "[redacted]"
        assert "555123" not in await _stored_text(stack)


async def test_server_key_is_generated_once_and_kept(database_url: str) -> None:
    async with security_stack(database_url) as stack:
        record, code = await stack.send_otp(otp_body())
        assert code is not None
        key = await stack.apps.state_value(CODE_KEY_STATE, "unused")
        assert len(key) == 64
        async with stack.db.read() as conn:
            stored = (
                await conn.execute(
                    select(otp_codes.c.code_hmac).where(otp_codes.c.flow_id == record.flow.id)
                )
            ).scalar_one()
        assert stored == CodeKeys(key.encode()).digest(record.flow.id, code)
    # Another process (a new stack on the same database) verifies with the same key.
    async with security_stack(database_url) as again:
        result = await again.security.codes.verify("app-1", record.flow.id, code)
        assert result.status is VerifyStatus.APPROVED


async def test_a_step_whose_code_was_purged_is_not_sent(database_url: str) -> None:
    async with security_stack(database_url) as stack:
        record, code = await stack.send_otp(otp_body())
        assert code is not None
        async with stack.db.write() as conn:
            await conn.execute(delete(otp_codes).where(otp_codes.c.flow_id == record.flow.id))
        await stack.report(record.flow.steps[0].tracking_id, StepStatus.UNDELIVERED)
        assert [r.channel for r in stack.sent_to(record.flow.id)] == [Channel.VIBER]
        flow = await stack.flow_store.load(record.flow.id)
        assert flow is not None
        assert "expired" in (flow.flow.steps[-1].error_message or "")
