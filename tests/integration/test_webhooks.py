"""Customer webhooks over a real database (SQLite and PostgreSQL) and a loopback receiver: the
outbox, the delivery loop, signatures, retries with backoff, ordering and crash recovery."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from tests.support.fixed_dns import FixedDns
from tests.support.payloads import viber_sms_flow
from tests.support.security_stack import FakeClock
from tests.support.waiting import wait_until_async
from tests.support.webhook_receiver import Received, WebhookReceiver

from failover_otp.domain.flow import FlowKind
from failover_otp.domain.outbox import DEAD, DELIVERED, PENDING, NewWebhookEvent, WebhookEvent
from failover_otp.providers.sandbox.embedded import EmbeddedSandboxProvider
from failover_otp.services.auth import AuthService
from failover_otp.services.clock import SystemClock
from failover_otp.services.egress import CallbackGuard, EgressPolicy
from failover_otp.services.flows import FlowService
from failover_otp.services.otp_requests import otp_plans
from failover_otp.services.webhooks import WebhookEvents, event_id
from failover_otp.store.app_store import AppStore
from failover_otp.store.database import Database
from failover_otp.store.flow_store import FlowStore
from failover_otp.store.migrate import upgrade
from failover_otp.store.webhook_store import WebhookStore
from failover_otp.web.otp_requests import otp_ask
from failover_otp.web.otp_schemas import SendFailoverRequest
from failover_otp.webhook_signing import WebhookVerificationError
from failover_otp.worker.webhooks import RetryPolicy, WebhookWorker

pytestmark = pytest.mark.asyncio(loop_scope="session")

# The receivers below listen on loopback over http, which the SSRF guard refuses by default.
LOOPBACK_RECEIVERS = CallbackGuard(EgressPolicy.from_settings("127.0.0.0/8", allow_http=True))


@dataclass
class Env:
    db: Database
    store: WebhookStore
    auth: AuthService
    app_id: str
    secret: str

    def worker(
        self,
        *,
        base: float = 0.05,
        cap: float = 0.4,
        max_attempts: int = 150,
        # Long: a lease matters only when a worker dies (the tests that say so pass their own),
        # and a slow attempt on a busy machine must not look like one and be sent twice.
        lease: float = 60.0,
        worker_id: str | None = None,
        store: WebhookStore | None = None,
        guard: CallbackGuard | None = None,
        per_application: int = 8,
        per_host: int = 16,
    ) -> WebhookWorker:
        return WebhookWorker(
            store or self.store,
            self.auth.signing_secrets,
            SystemClock(),
            retry=RetryPolicy(base_seconds=base, cap_seconds=cap, max_attempts=max_attempts),
            poll_seconds=0.02,
            lease_seconds=lease,
            timeout_seconds=10.0,  # a receiver the busy machine delays is not one that hangs
            worker_id=worker_id or f"test-{uuid.uuid4().hex[:8]}",
            guard=guard or LOOPBACK_RECEIVERS,
            per_application=per_application,
            per_host=per_host,
        )

    def events(self, flow_id: str, count: int, url: str) -> list[NewWebhookEvent]:
        now = datetime.now(UTC)
        return [
            NewWebhookEvent(
                event_id=event_id(flow_id, n),
                flow_id=flow_id,
                application_id=self.app_id,
                url=url,
                body=orjson.dumps({"flowId": flow_id, "n": n}).decode(),
                created_at=now,
            )
            for n in range(1, count + 1)
        ]


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    await upgrade(database_url)
    db = Database(database_url)
    auth = AuthService(AppStore(db), SystemClock())
    creds = await auth.create_application("webhooks")
    secret = await auth.webhook_secret(creds.application_id)
    assert secret is not None
    yield Env(db, WebhookStore(db), auth, creds.application_id, secret)
    await db.dispose()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    await hook.stop()


async def run_until(
    workers: list[WebhookWorker], done: Callable[[], object], timeout: float = 30.0
) -> None:
    """Run the delivery loops until ``done()`` (an awaitable or a value) is truthy."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        await wait_until_async(done, timeout, interval=0.02)
    finally:
        stop.set()
        await asyncio.gather(*tasks)


def settled(store: WebhookStore, total: int) -> Callable[[], object]:
    async def check() -> bool:
        counts = await store.counts()
        return counts[PENDING] == 0 and counts[DELIVERED] + counts[DEAD] == total

    return check


def by_id(events: list[WebhookEvent]) -> dict[str, WebhookEvent]:
    return {e.event_id: e for e in events}


# Delivery (the outbox's own rules: tests/integration/contract/test_outbox_contract.py).


async def test_events_arrive_signed_in_order(env: Env, receiver: WebhookReceiver) -> None:
    await receiver.start()
    events = env.events("flow-a", 3, receiver.url)
    await env.store.enqueue(events)
    await run_until([env.worker()], settled(env.store, 3))

    got = receiver.accepted()
    assert [r.webhook_id for r in got] == [e.event_id for e in events]
    for received, event in zip(got, events, strict=True):
        received.verify(env.secret)
        assert received.body == event.body.encode()
        assert received.headers["Content-Type"] == "application/json"
        assert received.signature.startswith("v1,")
        assert abs(int(received.timestamp) - time.time()) < 30
    stored = await env.store.events("flow-a")
    assert all(e.status == DELIVERED and e.attempts == 1 for e in stored)
    assert all(e.delivered_at is not None for e in stored)


async def test_receiver_down_then_up_gets_every_event_once_in_order(
    env: Env, receiver: WebhookReceiver
) -> None:
    flows = [f"flow-{n}" for n in range(4)]
    events = [e for f in flows for e in env.events(f, 5, receiver.url)]
    await env.store.enqueue(events)
    stop = asyncio.Event()
    task = asyncio.create_task(env.worker().run(stop))
    heads = {env.events(f, 1, receiver.url)[0].event_id for f in flows}

    async def heads_retried() -> list[WebhookEvent]:
        tried = await env.store.events()
        retried = {e.event_id for e in tried if e.attempts >= 2}
        return tried if heads <= retried else []

    try:
        # Connection refused meanwhile: every flow's head is tried again and again, and nothing
        # behind a head is tried at all.
        tried = await wait_until_async(heads_retried, what="each flow head's second attempt")
        assert receiver.snapshot() == []
        assert {e.event_id for e in tried if e.attempts > 0} == heads
        await receiver.start()

        async def all_delivered() -> bool:
            return (await env.store.counts())[DELIVERED] == len(events)

        await wait_until_async(all_delivered, what="every event delivered")
    finally:
        stop.set()
        await task

    got = receiver.accepted()
    assert sorted(r.webhook_id for r in got) == sorted(e.event_id for e in events)  # once each
    for flow in flows:
        arrived = [r.json()["n"] for r in got if r.json()["flowId"] == flow]
        assert arrived == [1, 2, 3, 4, 5]
    for event in await env.store.events():
        first = orjson.loads(event.body)["n"] == 1
        assert event.attempts > 1 if first else event.attempts == 1
        assert event.status == DELIVERED
        assert event.last_error is None


async def test_failures_back_off_exponentially_then_die(
    env: Env, receiver: WebhookReceiver
) -> None:
    [doomed, follower] = env.events("flow-a", 2, receiver.url)
    receiver.respond = lambda r: 500 if r.webhook_id == doomed.event_id else 200
    await receiver.start()
    await env.store.enqueue([doomed, follower])
    base = 0.1
    await run_until([env.worker(base=base, cap=10, max_attempts=5)], settled(env.store, 2))

    arrivals = receiver.snapshot()
    attempts = [r for r in arrivals if r.webhook_id == doomed.event_id]
    assert len(attempts) == 5
    gaps = [b.at - a.at for a, b in itertools.pairwise(attempts)]
    for n, gap in enumerate(gaps, start=1):
        nominal = base * 2 ** (n - 1)
        # Never early (the jitter is ±20%); late only by what a loaded machine adds, which is
        # the scheduler's doing, not the policy's: the bound still catches a wrong schedule
        # (a cap of 10 s, say), and the lower bounds alone rule out a constant one.
        assert 0.8 * nominal - 0.01 <= gap <= 1.2 * nominal + 2.0, (n, gaps)
    # The flow's next event waited for the dead one.
    assert arrivals[-1].webhook_id == follower.event_id
    assert arrivals[-1].at > attempts[-1].at
    stored = by_id(await env.store.events())
    assert stored[doomed.event_id].status == DEAD
    assert stored[doomed.event_id].attempts == 5
    assert stored[doomed.event_id].last_error == "HTTP 500"
    assert stored[follower.event_id].status == DELIVERED
    for received in attempts:
        received.verify(env.secret)  # each attempt signed afresh, same id


async def test_redirects_are_failures(env: Env, receiver: WebhookReceiver) -> None:
    receiver.respond = lambda _r: 307
    await receiver.start()
    await env.store.enqueue(env.events("flow-a", 1, receiver.url))
    await run_until([env.worker(max_attempts=2)], settled(env.store, 1))
    [event] = await env.store.events()
    assert (event.status, event.attempts, event.last_error) == (DEAD, 2, "HTTP 307")


async def test_gone_disables_the_endpoint(env: Env, receiver: WebhookReceiver) -> None:
    receiver.respond = lambda _r: 410
    await receiver.start()
    other = WebhookReceiver()
    await other.start()
    try:
        gone = env.events("flow-a", 3, receiver.url) + env.events("flow-b", 2, receiver.url)
        alive = env.events("flow-c", 2, other.url)
        await env.store.enqueue(gone + alive)
        await run_until([env.worker()], settled(env.store, 7))
        stored = by_id(await env.store.events())
        assert all(stored[e.event_id].status == DEAD for e in gone)
        assert all(stored[e.event_id].status == DELIVERED for e in alive)
        assert len(receiver.snapshot()) <= 2  # at most each flow's head was tried
        assert [r.webhook_id for r in other.accepted()] == [e.event_id for e in alive]
    finally:
        await other.stop()


async def test_retry_after_is_honoured(env: Env, receiver: WebhookReceiver) -> None:
    receiver.respond = lambda _r: (429, {"Retry-After": "30"})
    await receiver.start()
    await env.store.enqueue(env.events("flow-a", 1, receiver.url))
    started = datetime.now(UTC)

    async def attempt_recorded() -> bool:
        return any(e.attempts == 1 for e in await env.store.events())

    await run_until([env.worker(base=0.05, cap=600)], attempt_recorded)
    [event] = await env.store.events()
    assert event.status == PENDING
    assert event.next_attempt_at >= started + timedelta(seconds=29)


class _CrashAfterSend(WebhookStore):
    """A worker that dies between the receiver's 2xx and recording it."""

    async def mark_delivered(self, seq: int, *, attempts: int, now: datetime) -> None:
        raise RuntimeError("killed before the delivery was recorded")


async def test_a_crash_mid_attempt_resends_the_same_id(env: Env, receiver: WebhookReceiver) -> None:
    await receiver.start()
    [event] = env.events("flow-a", 1, receiver.url)
    await env.store.enqueue([event])
    crashing = env.worker(store=_CrashAfterSend(env.db))
    crashing.lease = timedelta(seconds=0.5)  # shorter than any real lease, for the test
    await crashing.run_once()
    await crashing.aclose()
    assert [r.webhook_id for r in receiver.accepted()] == [event.event_id]
    assert (await env.store.counts())[PENDING] == 1  # still leased to the dead worker

    await run_until([env.worker()], settled(env.store, 1))
    got = receiver.accepted()
    assert [r.webhook_id for r in got] == [event.event_id, event.event_id]  # at least once
    assert got[0].body == got[1].body
    for received in got:
        received.verify(env.secret)


async def test_concurrent_workers_share_the_outbox(env: Env, receiver: WebhookReceiver) -> None:
    """Several loops over one database: no event twice, each flow still in order."""
    await receiver.start()
    flows = [f"flow-{n}" for n in range(10)]
    events = [e for f in flows for e in env.events(f, 6, receiver.url)]
    await env.store.enqueue(events)
    workers = [env.worker(worker_id=f"w{n}") for n in range(3)]
    await run_until(workers, settled(env.store, len(events)))
    got = receiver.accepted()
    assert sorted(r.webhook_id for r in got) == sorted(e.event_id for e in events)
    for flow in flows:
        assert [r.json()["n"] for r in got if r.json()["flowId"] == flow] == [1, 2, 3, 4, 5, 6]
    if env.db.is_sqlite:
        return
    assert sum(w.delivered for w in workers) == len(events)


async def test_unknown_application_events_die(env: Env, receiver: WebhookReceiver) -> None:
    await receiver.start()
    [event] = env.events("flow-a", 1, receiver.url)
    await env.store.enqueue([replace(event, application_id="no-such-app")])
    await run_until([env.worker()], settled(env.store, 1))
    [stored] = await env.store.events()
    assert (stored.status, stored.last_error) == (DEAD, "unknown application")
    assert receiver.snapshot() == []


# Rotating the webhook secret with an overlap window (Standard Webhooks' several signatures).


async def test_a_rotation_signs_with_both_secrets_until_the_overlap_ends(env: Env) -> None:
    clock = FakeClock()
    auth = AuthService(AppStore(env.db), clock)
    first = env.secret
    assert await auth.signing_secrets(env.app_id) == [first]
    rotated = await auth.rotate_webhook_secret(env.app_id, timedelta(hours=1))
    assert rotated is not None
    second = rotated.current
    assert second != first
    assert rotated.previous_until == clock.now() + timedelta(hours=1)
    assert await auth.signing_secrets(env.app_id) == [second, first]
    clock.advance(3599)
    assert await auth.signing_secrets(env.app_id) == [second, first]
    clock.advance(2)
    assert await auth.signing_secrets(env.app_id) == [second]
    # Rotating again within a window keeps only the secret it replaces.
    await auth.rotate_webhook_secret(env.app_id, timedelta(hours=1))
    third = await auth.rotate_webhook_secret(env.app_id, timedelta(hours=1))
    assert third is not None
    signing = await auth.signing_secrets(env.app_id)
    assert signing is not None
    assert signing[0] == third.current
    assert len(signing) == 2
    assert first not in signing
    assert second not in signing
    # No overlap: the old secret stops at once.
    last = await auth.rotate_webhook_secret(env.app_id, timedelta(0))
    assert last is not None
    assert await auth.signing_secrets(env.app_id) == [last.current]
    assert await auth.rotate_webhook_secret("no-such-app", timedelta(hours=1)) is None
    with pytest.raises(ValueError, match="overlap"):
        await auth.rotate_webhook_secret(env.app_id, timedelta(days=8))


async def test_webhooks_carry_both_signatures_during_the_overlap(
    env: Env, receiver: WebhookReceiver
) -> None:
    """The worker reads the secrets for each attempt: a rotation made elsewhere (another
    AuthService, as the CLI is another process) applies to the very next webhook."""
    await receiver.start()
    elsewhere = AuthService(AppStore(env.db), SystemClock())
    old = env.secret
    [before, during, after] = env.events("flow-a", 3, receiver.url)
    worker = env.worker()

    async def deliver(event: NewWebhookEvent, total: int) -> Received:
        await env.store.enqueue([event])
        await run_until([worker], settled(env.store, total))
        return receiver.accepted()[-1]

    plain = await deliver(before, 1)
    assert len(plain.signature.split()) == 1
    rotated = await elsewhere.rotate_webhook_secret(env.app_id, timedelta(hours=24))
    assert rotated is not None
    both = await deliver(during, 2)
    assert len(both.signature.split()) == 2
    both.verify(rotated.current)
    both.verify(old)  # receivers still on the old secret lose nothing
    ended = await elsewhere.rotate_webhook_secret(env.app_id, timedelta(0))
    assert ended is not None
    last = await deliver(after, 3)
    assert len(last.signature.split()) == 1
    last.verify(ended.current)
    for stale in (old, rotated.current):
        with pytest.raises(WebhookVerificationError):
            last.verify(stale)


# Fairness: a slow receiver holds only its application's and its host's share of the slots.


@pytest.mark.parametrize("bound", ["per application", "per host"])
async def test_a_slow_receiver_does_not_starve_the_others(
    env: Env, receiver: WebhookReceiver, bound: str
) -> None:
    """``receiver`` holds every request until released. The fast receiver's events, enqueued
    after 200 slow ones (so behind them in the queue), arrive while the slow receiver holds at
    most its share and every one of its events is still pending. "per application": the fast
    events are another tenant's; "per host": the same application's, to another host."""
    fast = WebhookReceiver()
    slow_events = [e for n in range(200) for e in env.events(f"slow-{n}", 1, receiver.url)]
    fast_events = [e for n in range(3) for e in env.events(f"fast-{n}", 1, fast.url)]
    if bound == "per application":
        other = await env.auth.create_application("fast tenant")
        fast_events = [replace(e, application_id=other.application_id) for e in fast_events]
        worker, share = env.worker(per_application=8, per_host=1000), 8
    else:
        worker, share = env.worker(per_application=1000, per_host=4), 4
    receiver.hold = asyncio.Event()
    await receiver.start()
    await fast.start()
    await env.store.enqueue(slow_events)
    await env.store.enqueue(fast_events)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await wait_until_async(
            lambda: len(fast.accepted()) == len(fast_events),
            what="the fast receiver's webhooks",
            interval=0.02,
        )
        assert receiver.accepted() == []
        assert receiver.waiting <= share
        events = by_id(await env.store.events())
        assert all(events[e.event_id].status == PENDING for e in slow_events)
        assert sum(events[e.event_id].attempts for e in slow_events) == 0
    finally:
        receiver.hold.set()
        stop.set()
        await task
        await fast.stop()


# The SSRF guard at delivery time (docs/security.md). Names resolve through a fixed DNS answer;
# the only address any of them maps to is this loopback receiver, so a guard that failed would
# show as a request the receiver got, and nothing can ever leave loopback.


async def test_a_refused_url_is_never_contacted_and_dies_at_once(
    env: Env, receiver: WebhookReceiver
) -> None:
    """Stored before the guard existed (or allowed by settings since changed): the default
    worker refuses loopback http without connecting."""
    await receiver.start()
    await env.store.enqueue(env.events("flow-a", 1, receiver.url))
    await run_until([env.worker(guard=CallbackGuard())], settled(env.store, 1))
    [event] = await env.store.events()
    assert event.status == DEAD
    assert event.attempts == 1
    assert event.last_error is not None
    assert event.last_error.startswith("refused: the scheme must be https")
    assert receiver.snapshot() == []


async def test_a_name_is_checked_against_the_address_connected_to(
    env: Env, receiver: WebhookReceiver
) -> None:
    """DNS rebinding: ``hooks.test`` resolves to this loopback receiver. Allowed loopback, the
    event is delivered there (the guard's resolver is the one the connection uses); without the
    allowance the same answer is refused before connecting, attempt after attempt."""
    await receiver.start()
    dns = FixedDns({"hooks.test": ["127.0.0.1"]})
    url = f"http://hooks.test:{receiver.port}{receiver.path}"
    strict = CallbackGuard(EgressPolicy(allow_http=True), dns)
    [refused] = env.events("flow-a", 1, url)
    await env.store.enqueue([refused])
    await run_until([env.worker(guard=strict, max_attempts=3)], settled(env.store, 1))
    [event] = await env.store.events()
    assert (event.status, event.attempts) == (DEAD, 3)
    assert "hooks.test (127.0.0.1) is a loopback address" in (event.last_error or "")
    assert receiver.snapshot() == []
    assert dns.asked.count("hooks.test") == 3  # asked again on every attempt

    allowing = CallbackGuard(EgressPolicy.from_settings("127.0.0.1/32", allow_http=True), dns)
    [delivered] = env.events("flow-b", 1, url)
    await env.store.enqueue([delivered])
    await run_until([env.worker(guard=allowing)], settled(env.store, 2))
    assert [r.webhook_id for r in receiver.accepted()] == [delivered.event_id]
    assert receiver.snapshot()[0].headers["Host"] == f"hooks.test:{receiver.port}"


# The whole path: a flow's changes through FlowService into the outbox and out to the receiver.


async def test_every_change_of_a_flow_reaches_its_callback(
    env: Env, receiver: WebhookReceiver
) -> None:
    await receiver.start()
    provider = EmbeddedSandboxProvider(time_scale=60)
    flows = FlowService(
        FlowStore(env.db),
        provider,
        SystemClock(),
        time_scale=60,
        webhooks=WebhookEvents(time_scale=60),
    )
    await provider.start(flows.report)
    try:
        # Digit 2: Viber UNDELIVERED after 1 s, then SMS Delivered after 2 s.
        request = SendFailoverRequest.model_validate(viber_sms_flow(2, callback_url=receiver.url))
        plans, meta = otp_plans(otp_ask(request))
        record = await flows.start_flow(
            application_id=env.app_id, kind=FlowKind.OTP, plans=plans, meta=meta
        )

        def finished() -> bool:
            got = receiver.accepted()
            final = ["UNDELIVERED", "delivered"]
            return bool(got) and [s["status"] for s in got[-1].json()["steps"]] == final

        await run_until([env.worker()], finished)
    finally:
        await flows.aclose()
        await provider.aclose()

    got = receiver.accepted()
    stored = await env.store.events(record.flow.id)
    assert [r.webhook_id for r in got] == [e.event_id for e in stored]
    assert len({r.webhook_id for r in got}) == len(got)
    stories = [r.json() for r in got]
    assert all(s["flowId"] == record.flow.id for s in stories)
    # InProgress until the SMS reaches the network (Sent counts as success), Succeeded after.
    statuses = [s["status"] for s in stories]
    first = statuses.index("Succeeded")
    assert statuses == ["InProgress"] * first + ["Succeeded"] * (len(statuses) - first)
    final = stories[-1]
    assert [s["status"] for s in final["steps"]] == ["UNDELIVERED", "delivered"]
    assert final["status"] == "Succeeded"
    for received in got:
        received.verify(env.secret)
