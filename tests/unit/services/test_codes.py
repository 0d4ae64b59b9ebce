"""Managed codes on the in-memory storage: generation, sends with the code put in, verification,
attempts and budgets, keys (what is stored and where: tests/integration/test_codes.py)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections import Counter
from typing import Any

import pytest
import structlog
from tests.support.security_stack import memory_stack, otp_body

from failover_otp.domain.events import Start
from failover_otp.domain.statuses import Channel, FlowStatus, StepStatus
from failover_otp.services.codes import (
    CodeKeys,
    VerifyStatus,
    generate_code,
    needs_code,
    with_code,
)
from failover_otp.services.errors import NotFound

# --- the generator (no database) -----------------------------------------------------------

# chi-square critical value for 9 degrees of freedom at p = 1e-6: six positions are tested per
# run, so p = 0.001 failed a correct generator about once in 170 runs; a biased digit (e.g. a
# modulo bias of a few percent) still lands far above it at 200,000 draws.
_CHI2_9DF_P1E6 = 45.0


def test_generated_codes_are_uniform_per_digit_position() -> None:
    draws = 200_000
    codes = [generate_code(6) for _ in range(draws)]
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert any(c.startswith("0") for c in codes)  # the whole 000000-999999 range
    for position in range(6):
        counts = Counter(c[position] for c in codes)
        expected = draws / 10
        chi2 = sum((counts[str(d)] - expected) ** 2 / expected for d in range(10))
        assert chi2 < _CHI2_9DF_P1E6, (position, counts)
    # 2e5 draws from 1e6 values: distinct = 1e6 * (1 - (1 - 1e-6)^2e5) ~ 181 269
    assert abs(len(set(codes)) - 181_269) < 1_500


@pytest.mark.parametrize("length", [4, 6, 10])
def test_code_length(length: int) -> None:
    assert len(generate_code(length)) == length
    with pytest.raises(ValueError, match="4 to 10"):
        generate_code(3)


def test_keyed_hash_and_cipher() -> None:
    keys = CodeKeys(b"k" * 32)
    flow_id = "0994f9d7-95ec-46bb-aa82-497598700bd5"
    expected = hmac.new(b"k" * 32, (flow_id + "123456").encode(), hashlib.sha256).hexdigest()
    assert keys.digest(flow_id, "123456") == expected
    cipher = keys.encrypt(flow_id, "0012345678")
    assert "0012345678" not in cipher
    assert keys.decrypt(flow_id, cipher) == "0012345678"
    # Another flow's keystream differs: the same code encrypts differently.
    assert keys.encrypt("1994f9d7-95ec-46bb-aa82-497598700bd5", "0012345678") != cipher


def test_with_code_fills_viber_pin_and_sms_placeholder() -> None:
    viber = with_code({"templateParams": {"x": 1}}, Channel.VIBER, "4321")
    assert viber["pin"] == "4321"
    assert viber["templateParams"] == {"x": 1, "pin": "4321"}
    sms = with_code({"message": {"body": "Code {pin}. Again: {pin}"}}, Channel.SMS, "4321")
    assert sms["message"]["body"] == "Code 4321. Again: 4321"


# --- on a database ---------------------------------------------------------------------------


async def test_verify_is_single_use_and_cancels_the_failover() -> None:
    async with memory_stack() as stack:
        record, code = await stack.send_otp(otp_body())
        assert code is not None
        codes = stack.security.codes
        assert (await codes.verify("app-1", record.flow.id, code)).status is VerifyStatus.APPROVED
        second = await codes.verify("app-1", record.flow.id, code)
        assert second.status is VerifyStatus.ALREADY_USED
        assert second.valid is False
        flow = await stack.storage.flows.load(record.flow.id)
        assert flow is not None
        assert flow.flow.status is FlowStatus.SUCCEEDED
        assert flow.flow.deadline is None  # the SMS failover will never fire
        # Even a deadline already claimed cannot send it: the code is spent.
        await stack.flows.apply(record.flow.id, Start())
        assert len(stack.sent_to(record.flow.id)) == 1


async def test_failover_due_after_the_code_was_used_is_not_sent() -> None:
    """G2: a verify that lands while the failover is being sent stops the SMS at the door."""
    async with memory_stack() as stack:
        record, code = await stack.send_otp(otp_body())
        assert code is not None
        assert await stack.security.codes.store.mark_used(
            record.flow.id, stack.clock.now(), give_back=None
        )
        stack.clock.advance(121)  # the Viber ttl passes: the SMS falls due
        claimed = await stack.storage.deadlines.claim_due(
            now=stack.clock.now(),
            worker_id="t",
            lease_until=stack.clock.now(),
            limit=10,
        )
        for due in claimed:
            await stack.flows.fire(due)
        assert [r.channel.value for r in stack.sent_to(record.flow.id)] == ["viber"]
        flow = await stack.storage.flows.load(record.flow.id)
        assert flow is not None
        assert "already verified" in (flow.flow.steps[-1].error_message or "")


async def test_wrong_codes_lock_the_flow_at_five_attempts() -> None:
    async with memory_stack() as stack:
        record, code = await stack.send_otp(otp_body())
        assert code is not None
        wrong = "000000" if code != "000000" else "111111"
        codes = stack.security.codes
        statuses = [(await codes.verify("app-1", record.flow.id, wrong)).status for _ in range(5)]
        assert statuses == [VerifyStatus.WRONG_CODE] * 5
        locked = await codes.verify("app-1", record.flow.id, code)
        assert locked.status is VerifyStatus.TOO_MANY_ATTEMPTS
        row = await codes.store.get(record.flow.id)
        assert row is not None
        assert row.attempts == 5
        assert row.used_at is None


async def test_right_code_on_the_fifth_attempt_passes() -> None:
    async with memory_stack() as stack:
        record, code = await stack.send_otp(otp_body())
        assert code is not None
        wrong = "000000" if code != "000000" else "111111"
        codes = stack.security.codes
        for _ in range(4):
            await codes.verify("app-1", record.flow.id, wrong)
        assert (await codes.verify("app-1", record.flow.id, code)).status is VerifyStatus.APPROVED


async def test_expiry_boundary() -> None:
    async with memory_stack() as stack:
        early, early_code = await stack.send_otp(otp_body("+306912345672"))
        late, late_code = await stack.send_otp(otp_body("+306912345673"))
        assert early_code is not None
        assert late_code is not None
        codes = stack.security.codes
        stack.clock.advance(599)
        assert (
            await codes.verify("app-1", early.flow.id, early_code)
        ).status is VerifyStatus.APPROVED
        stack.clock.advance(2)  # 601 s after the send
        assert (await codes.verify("app-1", late.flow.id, late_code)).status is VerifyStatus.EXPIRED


async def test_codes_are_bound_to_their_flow_and_application() -> None:
    async with memory_stack() as stack:
        first, first_code = await stack.send_otp(otp_body())
        second, second_code = await stack.send_otp(otp_body())
        assert first_code is not None
        assert second_code is not None
        codes = stack.security.codes
        if first_code != second_code:
            # The older flow's code does not open the newer flow (same number).
            wrong = await codes.verify("app-1", second.flow.id, first_code)
            assert wrong.status is VerifyStatus.WRONG_CODE
        with pytest.raises(NotFound):
            await codes.verify("another-app", first.flow.id, first_code)
        with pytest.raises(NotFound):
            await codes.verify("app-1", "00000000-0000-0000-0000-000000000000", "123456")


async def test_daily_failure_budget_per_number_survives_new_flows() -> None:
    """A6: a new flow (a resend) for the same number never resets the wrong-code budget."""
    async with memory_stack(code_failures_per_number_per_day=7, rate_limit_enabled=False) as stack:
        codes = stack.security.codes
        evaluated = 0
        last_code = None
        last_flow = None
        for _ in range(4):
            record, code = await stack.send_otp(otp_body("+306912345674"))
            wrong = "000000" if code != "000000" else "111111"
            for _ in range(5):
                if (await codes.verify("app-1", record.flow.id, wrong)).status is (
                    VerifyStatus.WRONG_CODE
                ):
                    evaluated += 1
            last_code, last_flow = code, record.flow.id
        assert evaluated == 7
        assert last_code is not None
        assert last_flow is not None
        blocked = await codes.verify("app-1", last_flow, last_code)
        assert blocked.status is VerifyStatus.TOO_MANY_ATTEMPTS
        # Another number is not affected.
        other, other_code = await stack.send_otp(otp_body("+306912345675"))
        assert other_code is not None
        ok = await codes.verify("app-1", other.flow.id, other_code)
        assert ok.status is VerifyStatus.APPROVED


async def test_fifty_concurrent_right_answers_approve_once() -> None:
    async with memory_stack() as stack:
        record, code = await stack.send_otp(otp_body())
        assert code is not None
        results = await asyncio.gather(
            *(stack.security.codes.verify("app-1", record.flow.id, code) for _ in range(50))
        )
        statuses = Counter(r.status for r in results)
        assert statuses[VerifyStatus.APPROVED] == 1, statuses
        assert set(statuses) <= {
            VerifyStatus.APPROVED,
            VerifyStatus.ALREADY_USED,
            VerifyStatus.TOO_MANY_ATTEMPTS,
        }


async def test_two_hundred_concurrent_guesses_are_evaluated_five_times() -> None:
    async with memory_stack() as stack:
        record, code = await stack.send_otp(otp_body())
        assert code is not None
        guesses = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 200)] + [code]
        results = await asyncio.gather(
            *(stack.security.codes.verify("app-1", record.flow.id, g) for g in guesses)
        )
        statuses = Counter(r.status for r in results)
        assert statuses[VerifyStatus.WRONG_CODE] + statuses[VerifyStatus.APPROVED] == 5
        assert statuses[VerifyStatus.APPROVED] == 0, "the right code came after 5 guesses"
        row = await stack.security.codes.store.get(record.flow.id)
        assert row is not None
        assert row.attempts == 5


async def test_configured_key_wins() -> None:
    async with memory_stack(code_hmac_key="s" * 40) as stack:
        record, code = await stack.send_otp(otp_body())
        assert code is not None
        row = await stack.security.codes.store.get(record.flow.id)
        assert row is not None
        assert row.code_hmac == CodeKeys(b"s" * 40).digest(record.flow.id, code)


async def test_no_code_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    """I1: a whole flow, failover and verification included, logs neither code nor hash."""
    caplog.set_level(logging.INFO)
    with structlog.testing.capture_logs() as events:
        async with memory_stack(code_length=10) as stack:
            record, code = await stack.send_otp(otp_body())
            assert code is not None
            await stack.report(record.flow.steps[0].tracking_id, StepStatus.EXPIRED)
            await stack.security.codes.verify("app-1", record.flow.id, "0000000000")
            await stack.security.codes.verify("app-1", record.flow.id, code)
            row = await stack.security.codes.store.get(record.flow.id)
            assert row is not None
    logged: list[Any] = [*events, *(r.getMessage() for r in caplog.records)]
    assert any(e.get("event") == "code verified" for e in events if isinstance(e, dict))
    everything = repr(logged)
    assert code not in everything
    assert row.code_hmac not in everything


def test_needs_code() -> None:
    assert needs_code({"type": "ViberOtp", "templateId": "t"}, Channel.VIBER)
    assert not needs_code({"type": "ViberOtp", "pin": "1234"}, Channel.VIBER)
    assert needs_code({"message": {"body": "Code {pin}"}}, Channel.SMS)
    assert not needs_code({"message": {"body": "Code 1234"}}, Channel.SMS)
