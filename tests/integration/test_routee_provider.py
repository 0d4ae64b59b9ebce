"""The real Routee provider against the standalone wire sandbox, over loopback HTTP.

The sandbox runs in-process (``tests/support/wire_sandbox.py``) with a ``RouteeSim`` at time
scale 60, and a tiny callback receiver stands in for the service's callback route. Every case
reads the sandbox's own counts, so "no duplicate send" is asserted by the sandbox, not inferred
from the provider.
"""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest
from aiohttp import web
from tests.support.waiting import wait_until_async
from tests.support.wire_sandbox import (
    LOOPBACK,
    VIBER_TTL,
    MakeProvider,
    Receiver,
    Sandbox,
    StartSandbox,
    start_app,
)

from failover_otp.domain.statuses import Channel, RejectReason, StepStatus
from failover_otp.providers.base import (
    DeliveryReport,
    ProviderUnavailable,
    SendOutcomeUnknown,
    SendRefused,
    SendRequest,
)
from failover_otp.providers.routee import RouteeProvider
from failover_otp.providers.routee.bodies import BASIC_TEMPLATE_ID
from failover_otp.providers.sandbox.wire_server import serve_sandbox, wire_attempt_key

pytestmark = pytest.mark.asyncio(loop_scope="session")

pytest_plugins = ["tests.support.wire_sandbox"]


def number(digit: int) -> str:
    return f"30691234567{digit}"


def viber_otp(digit: int, *, pin: str | None = None, ttl: int = VIBER_TTL) -> SendRequest:
    return SendRequest(
        flow_id=str(uuid.uuid4()),
        step_index=0,
        channel=Channel.VIBER,
        to=number(digit),
        ttl_seconds=float(ttl),
        content={
            "type": "ViberOtp",
            "to": "+" + number(digit),
            "order": 1,
            "ttl": ttl,
            "senderInfoTrackingId": "sender-1",
            "templateId": BASIC_TEMPLATE_ID,
            "templateLang": "en",
            "pin": pin or str(uuid.uuid4().int)[:6],
        },
        label="login",
    )


def sms(digit: int, *, body: str | None = None) -> SendRequest:
    text = body or f"Your code is {str(uuid.uuid4().int)[:6]}"
    return SendRequest(
        flow_id=str(uuid.uuid4()),
        step_index=1,
        channel=Channel.SMS,
        to=number(digit),
        ttl_seconds=300.0,
        content={"type": "Sms", "from": "MyBrand", "message": {"body": text, "flash": False}},
        label="login",
    )


VIBER_FINAL = {
    0: StepStatus.SEEN,
    1: StepStatus.EXPIRED,
    2: StepStatus.UNDELIVERED,
    3: StepStatus.FAILED,
    4: StepStatus.DELIVERED,
    5: StepStatus.EXPIRED,
    7: StepStatus.DELIVERED,
    8: StepStatus.UNDELIVERED,
}
SMS_FINAL = dict.fromkeys((0, 1, 2, 4, 6, 7, 9), StepStatus.DELIVERED) | {
    3: StepStatus.UNDELIVERED,
    5: StepStatus.FAILED,
}


async def wait_lookup(
    provider: RouteeProvider, channel: Channel, message_id: str, status: StepStatus
) -> DeliveryReport:
    async def reached() -> DeliveryReport | None:
        report = await provider.lookup(channel, message_id)
        return report if report is not None and report.status is status else None

    report = await wait_until_async(reached, what=f"{message_id} to reach {status}")
    assert report is not None
    return report


@pytest.mark.parametrize("digit", range(10))
async def test_viber_otp_follows_the_outcome_table(
    digit: int, provider: RouteeProvider, sandbox: Sandbox, receiver: Receiver
) -> None:
    """Each last digit gives the contract's Viber outcome, through callbacks and look-ups."""
    request = viber_otp(digit)
    key = wire_attempt_key(
        Channel.VIBER, request.to, f"{BASIC_TEMPLATE_ID}:{request.content['pin']}"
    )
    if digit == 9:
        with pytest.raises(SendRefused) as refused:
            await provider.send(request)
        assert refused.value.reason is RejectReason.INVALID_REQUEST
        assert "400005000" in refused.value.message
        assert (await sandbox.sends())["total"] == 0
        return
    receipt = await provider.send(request)
    counts = await sandbox.sends()
    assert counts["by_key"] == {key: 1}
    assert counts["requests"]["POST /viber/otp"] == (2 if digit == 7 else 1)
    if digit == 6:
        report = await wait_lookup(
            provider, Channel.VIBER, receipt.message_id, StepStatus.DELIVERED
        )
        assert report.price == pytest.approx(0.0093)
        # Deliberate: digit 6 is delivered without a callback. A callback would go out with the
        # delivery the look-up already shows; this short pause lets one in flight land.
        await asyncio.sleep(0.1)
        assert receiver.statuses(receipt.message_id) == []
        return
    final = VIBER_FINAL[digit]
    await receiver.wait_for(receipt.message_id, final)
    if digit == 0:
        assert receiver.statuses(receipt.message_id) == [StepStatus.DELIVERED, StepStatus.SEEN]
    looked_up = await provider.lookup(Channel.VIBER, receipt.message_id)
    assert looked_up is not None
    assert looked_up.status is final


@pytest.mark.parametrize("digit", range(10))
async def test_sms_follows_the_outcome_table(
    digit: int, provider: RouteeProvider, sandbox: Sandbox, receiver: Receiver
) -> None:
    """Each last digit gives the contract's SMS outcome; digit 8 is insufficient balance."""
    request = sms(digit)
    if digit == 8:
        with pytest.raises(SendRefused) as refused:
            await provider.send(request)
        assert refused.value.reason is RejectReason.INSUFFICIENT_BALANCE
        assert (await sandbox.sends())["total"] == 0
        return
    receipt = await provider.send(request)
    assert receipt.parts == 1
    assert receipt.country == "GR"
    await receiver.wait_for(receipt.message_id, SMS_FINAL[digit])
    report = next(r for r in receiver.reports if r.status is SMS_FINAL[digit])
    assert report.price == pytest.approx(0.0375)
    assert report.detailed_status
    looked_up = await provider.lookup(Channel.SMS, receipt.message_id)
    assert looked_up is not None
    assert looked_up.status is SMS_FINAL[digit]
    assert (await sandbox.sends())["total"] == 1


async def test_multipart_sms_reports_every_part(
    provider: RouteeProvider, sandbox: Sandbox, receiver: Receiver
) -> None:
    """A 2-part SMS gets one callback per part and is priced per part."""
    receipt = await provider.send(sms(0, body="x" * 200))
    assert receipt.parts == 2
    await receiver.wait_for(receipt.message_id, StepStatus.DELIVERED)
    async with receiver.changed:
        await asyncio.wait_for(receiver.changed.wait_for(lambda: receiver.bodies >= 2), 30)
    assert all(r.price == pytest.approx(0.075) for r in receiver.reports)
    looked_up = await provider.lookup(Channel.SMS, receipt.message_id)
    assert looked_up is not None
    assert looked_up.price == pytest.approx(0.075)


async def test_standard_viber_message(provider: RouteeProvider, receiver: Receiver) -> None:
    """A Viber step without a template goes to POST /viber and is reported like any Viber."""
    request = SendRequest(
        flow_id="f",
        step_index=0,
        channel=Channel.VIBER,
        to=number(0),
        ttl_seconds=600,
        content={"type": "Viber", "senderInfoTrackingId": "s", "text": "Hello"},
    )
    receipt = await provider.send(request)
    await receiver.wait_for(receipt.message_id, StepStatus.SEEN)


async def test_lookup_of_unknown_messages(provider: RouteeProvider) -> None:
    """Routee's 404 tracking codes read as "not known", not as failures."""
    assert await provider.lookup(Channel.SMS, "no-such-id") is None
    assert await provider.lookup(Channel.VIBER, "no/such id") is None
    assert await provider.lookup(Channel.VOICE, "x") is None


async def test_token_expiring_mid_run_never_fails_a_send(
    provider: RouteeProvider, sandbox: Sandbox
) -> None:
    """Tokens that live 1 s are renewed before they die: no send fails over 1.5 s."""
    await sandbox.control("token-ttl", {"expires_in": 1})
    for _ in range(10):
        await provider.send(sms(0))
        await asyncio.sleep(0.15)  # deliberate: the sends span the token's 1 s life
    counts = await sandbox.sends()
    assert counts["total"] == 10
    assert counts["tokens_issued"] >= 2


async def test_revoked_token_is_refreshed_once_for_concurrent_sends(
    provider: RouteeProvider, sandbox: Sandbox
) -> None:
    """Fifty sends hitting 401 together share one token request, then all succeed."""
    await provider.send(sms(0))
    await sandbox.control("revoke-tokens")
    receipts = await asyncio.gather(*(provider.send(sms(0)) for _ in range(50)))
    assert len({r.message_id for r in receipts}) == 50
    counts = await sandbox.sends()
    assert counts["tokens_issued"] == 2
    assert counts["total"] == 51


async def test_503_then_success_sends_one_message(
    provider: RouteeProvider, sandbox: Sandbox
) -> None:
    """A 503 is retried (the message was not taken) and exactly one message results."""
    await sandbox.script(status=503, times=2)
    await provider.send(viber_otp(0))
    counts = await sandbox.sends()
    assert counts["total"] == 1
    assert counts["requests"]["POST /viber/otp"] == 3


async def test_429_with_retry_after_is_retried(provider: RouteeProvider, sandbox: Sandbox) -> None:
    await sandbox.script(status=429, retry_after=0.1)
    await provider.send(sms(0))
    assert (await sandbox.sends())["requests"]["POST /sms"] == 2


async def test_repeated_503_gives_up_as_server_error(
    provider: RouteeProvider, sandbox: Sandbox
) -> None:
    await sandbox.script(status=503, times=10)
    with pytest.raises(SendRefused) as refused:
        await provider.send(sms(0))
    assert refused.value.reason is RejectReason.SERVER_ERROR
    counts = await sandbox.sends()
    assert counts["total"] == 0
    assert counts["requests"]["POST /sms"] == 4


async def test_timeout_after_acceptance_finds_the_sms_instead_of_resending(
    make_provider: MakeProvider, sandbox: Sandbox
) -> None:
    """Routee took the SMS but the answer never came: the provider finds it by search."""
    provider = make_provider(routee_timeout_seconds=0.5)
    await sandbox.script(accept_then_timeout=True, hang_seconds=5)
    request = sms(0)
    receipt = await provider.send(request)
    counts = await sandbox.sends()
    assert counts["total"] == 1
    assert counts["requests"]["POST /sms"] == 1
    assert list(sandbox.sim.messages) == [receipt.message_id]
    assert await provider.find_sent(request) == receipt


async def test_timeout_after_acceptance_of_viber_is_reported_unknown(
    make_provider: MakeProvider, sandbox: Sandbox
) -> None:
    """Routee cannot search Viber messages: the send is ambiguous, and never repeated."""
    provider = make_provider(routee_timeout_seconds=0.5)
    await sandbox.script(accept_then_timeout=True, hang_seconds=5)
    request = viber_otp(0)
    with pytest.raises(SendOutcomeUnknown):
        await provider.send(request)
    with pytest.raises(SendOutcomeUnknown, match="no search"):
        await provider.find_sent(request)
    counts = await sandbox.sends()
    assert counts["total"] == 1
    assert counts["requests"]["POST /viber/otp"] == 1


async def test_timeout_before_acceptance_is_unknown_when_nothing_is_found(
    make_provider: MakeProvider, sandbox: Sandbox
) -> None:
    provider = make_provider(routee_timeout_seconds=0.3)
    await sandbox.script(hang=True, hang_seconds=5)
    with pytest.raises(SendOutcomeUnknown, match="no such message"):
        await provider.send(sms(0))
    assert (await sandbox.sends())["total"] == 0


async def test_malformed_answers_never_crash(provider: RouteeProvider, sandbox: Sandbox) -> None:
    """Bodies that are not JSON give clear provider errors, and accepted ones are found."""
    await sandbox.script(malformed=True)
    with pytest.raises(SendOutcomeUnknown, match="not valid JSON"):
        await provider.send(sms(0))

    await sandbox.script(malformed=True, accept=True)
    request = sms(0)
    receipt = await provider.send(request)
    assert sandbox.sim.find(receipt.message_id) is not None

    await sandbox.script(malformed=True, status=400)
    with pytest.raises(SendRefused) as refused:
        await provider.send(sms(0))
    assert refused.value.reason is RejectReason.INVALID_REQUEST
    assert "HTTP 400" in refused.value.message

    await sandbox.script(malformed=True, endpoint="lookup")
    with pytest.raises(ProviderUnavailable, match="unreadable"):
        await provider.lookup(Channel.SMS, receipt.message_id)
    assert (await sandbox.sends())["total"] == 1


async def test_malformed_token_answer_is_unavailable(
    provider: RouteeProvider, sandbox: Sandbox
) -> None:
    await sandbox.script(malformed=True, endpoint="token", times=4)
    with pytest.raises(SendRefused) as refused:
        await provider.send(sms(0))
    assert refused.value.reason is RejectReason.SERVER_ERROR
    assert "unreadable" in refused.value.message


async def test_bad_credentials_are_a_server_error(
    start_sandbox: StartSandbox, make_provider: MakeProvider
) -> None:
    """A sandbox started with --app-id/--app-secret refuses other credentials."""
    strict = await start_sandbox(app_id="app", app_secret="other-secret")
    with pytest.raises(SendRefused) as refused:
        await make_provider(strict.url).send(sms(0))
    assert refused.value.reason is RejectReason.SERVER_ERROR
    assert "credentials" in refused.value.message
    await make_provider(strict.url, routee_app_secret="other-secret").send(sms(0))


async def test_connection_refused_is_a_server_error(make_provider: MakeProvider) -> None:
    closed = web.Application()
    runner, url = await start_app(closed)
    await runner.cleanup()
    with pytest.raises(SendRefused) as refused:
        await make_provider(url).send(sms(0))
    assert refused.value.reason is RejectReason.SERVER_ERROR


async def test_find_sent_after_a_restart(
    provider: RouteeProvider, make_provider: MakeProvider
) -> None:
    """A fresh provider (no memory) still finds an SMS by search, but not a Viber message."""
    request = sms(2)
    receipt = await provider.send(request)
    found = await make_provider().find_sent(request)
    assert found is not None
    assert found.message_id == receipt.message_id
    assert await make_provider().find_sent(sms(2)) is None
    viber = viber_otp(0)
    assert (await provider.send(viber)) == await provider.find_sent(viber)
    with pytest.raises(SendOutcomeUnknown):
        await make_provider().find_sent(viber)


async def test_reset_clears_the_sandbox(provider: RouteeProvider, sandbox: Sandbox) -> None:
    await provider.send(sms(0))
    await sandbox.script(status=503)
    await sandbox.control("reset")
    counts = await sandbox.sends()
    assert counts["total"] == 0
    assert counts["scripts_pending"] == 0
    assert sandbox.sim.messages == {}


async def test_serve_sandbox_binds_loopback_and_stops_on_cancel(
    http: aiohttp.ClientSession,
) -> None:
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve_sandbox(LOOPBACK, 0, 60, on_ready=ready.set_result))
    port = await asyncio.wait_for(ready, 5)
    headers = {"Authorization": aiohttp.encode_basic_auth("any", "thing")}
    form = {"grant_type": "client_credentials"}
    async with http.post(f"http://{LOOPBACK}:{port}/oauth/token", data=form, headers=headers) as r:
        grant = await r.json()
    assert grant["token_type"] == "Bearer"
    assert grant["expires_in"] == 3600
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ValueError, match="loopback"):
        await serve_sandbox("0.0.0.0", 0, 1.0)
