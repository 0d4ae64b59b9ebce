"""The loop that delivers customer webhooks from the outbox (docs/webhooks.md).

It claims due events in leased batches (``WebhookStore.claim_due``: each flow's oldest pending
event only, so a flow's events arrive in order), POSTs each one signed (Standard Webhooks), and
settles it: 2xx delivered; 410 Gone kills every pending event for that URL; anything else is
retried with capped exponential backoff and jitter until the retry budget runs out (dead).

Any number of these loops, in any number of processes, share the outbox. Nothing is lost on a
crash: an event is settled only after its answer, so a worker that dies mid-attempt leaves it
leased, and it is sent again (same ``webhook-id``) once the lease runs out. Receivers must
therefore deduplicate on ``webhook-id``: delivery is at least once.

Fair between tenants: attempts in flight are bounded per application and per receiving host, so
a slow receiver holds only its share of the slots. Every URL passes the SSRF guard
(``services/egress.py``) before the attempt, and every name through it again at connect time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
import structlog

from failover_otp import __version__
from failover_otp.domain.outbox import WebhookEvent
from failover_otp.metrics import WEBHOOK_ATTEMPTS
from failover_otp.services.clock import Clock
from failover_otp.services.egress import CallbackGuard, RefusedDestination
from failover_otp.services.ports import WebhookOutbox
from failover_otp.webhook_signing import sign_headers
from failover_otp.worker.deadlines import default_worker_id

log = structlog.get_logger(__name__)

# The application's signing secrets now, the current one first (two during a rotation's
# overlap window; None: the application no longer exists). Asked for every attempt, never
# cached, so a rotation applies to the next attempt in every process.
SecretSource = Callable[[str], Awaitable[list[str] | None]]
# Statuses after which the receiver's Retry-After (seconds) is honoured, up to the backoff cap.
_THROTTLED = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry n (n >= 1) waits ``min(cap, base * 2**(n-1))`` seconds, +/- ``jitter``; an event is
    dead once it has had ``max_attempts`` attempts or is ``max_age_seconds`` old."""

    base_seconds: float = 1.0
    cap_seconds: float = 600.0
    max_attempts: int = 150
    max_age_seconds: float = 86400.0
    jitter: float = 0.2

    def nominal_delay(self, failures: int) -> float:
        exponent = min(max(failures - 1, 0), 62)
        return float(min(self.cap_seconds, self.base_seconds * 2.0**exponent))

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        factor = 1.0 + (rng or random).uniform(-self.jitter, self.jitter)
        return self.nominal_delay(failures) * factor

    def gives_up(self, attempts: int, created_at: datetime, now: datetime) -> bool:
        return (
            attempts >= self.max_attempts
            or (now - created_at).total_seconds() >= self.max_age_seconds
        )


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int | None
    error: str
    retry_after: float | None = None


class WebhookWorker:
    def __init__(
        self,
        store: WebhookOutbox,
        secrets: SecretSource,
        clock: Clock,
        *,
        retry: RetryPolicy | None = None,
        poll_seconds: float = 0.2,
        lease_seconds: float = 60.0,
        timeout_seconds: float = 15.0,
        batch: int = 100,
        concurrency: int = 64,
        per_application: int = 8,
        per_host: int = 16,
        worker_id: str | None = None,
        guard: CallbackGuard | None = None,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        # A claim must outlive the attempt, or another worker would send it alongside.
        self.lease = timedelta(seconds=max(lease_seconds, timeout_seconds + 2.0))
        self.batch = batch
        self.concurrency = concurrency
        # Fairness: attempts in flight for one application, and to one receiving host:port.
        # A slow receiver holds at most these many of the ``concurrency`` slots; the rest keep
        # serving everyone else.
        self.per_application = per_application
        self.per_host = per_host
        self._inflight_by_app: Counter[str] = Counter()
        self._inflight_by_host: Counter[str] = Counter()
        self._gave_back = False  # the last claim released events: others may be due behind them
        self.worker_id = worker_id or default_worker_id() + ":webhooks"
        # The SSRF guard (services/egress.py); the default refuses anything but public https.
        self.guard = guard or CallbackGuard()
        self.delivered = 0
        self.failed = 0
        self._rng = random.Random()
        self._session: aiohttp.ClientSession | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("webhook worker started", worker_id=self.worker_id)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                self._wake.clear()
                claimed = await self._claim_safely()
                if claimed == self.batch or self._gave_back:
                    continue  # more may be due right now
                waking = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait(
                    {stopping, waking},
                    timeout=self.poll_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waking.cancel()
        finally:
            stopping.cancel()
            await self.aclose()
        log.info(
            "webhook worker stopped",
            worker_id=self.worker_id,
            delivered=self.delivered,
            failed=self.failed,
        )

    async def run_once(self) -> int:
        """Claim what is due and deliver it all (tests, tools); returns how many were started."""
        claimed = await self._claim_and_start()
        await self.drain()
        return claimed

    async def drain(self) -> None:
        """Wait for every attempt in flight."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    async def aclose(self, grace_seconds: float = 5.0) -> None:
        """Let attempts in flight finish for a moment, then cut them (their lease brings them
        back); close the HTTP session."""
        if self._inflight:
            _done, pending = await asyncio.wait(list(self._inflight), timeout=grace_seconds)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _claim_safely(self) -> int:
        try:
            return await self._claim_and_start()
        except Exception:
            log.exception("claiming webhooks failed")
            return 0

    async def _claim_and_start(self) -> int:
        self._gave_back = False
        free = min(self.batch, self.concurrency - len(self._inflight))
        if free <= 0:
            return 0
        now = self.clock.now()
        busy_apps = [a for a, n in self._inflight_by_app.items() if n >= self.per_application]
        busy_hosts = [h for h, n in self._inflight_by_host.items() if n >= self.per_host]
        events = await self.store.claim_due(
            now=now,
            worker_id=self.worker_id,
            lease_until=now + self.lease,
            limit=free,
            skip_applications=busy_apps,
            skip_hosts=busy_hosts,
        )
        started = 0
        surplus = []
        for event in events:
            app, host = event.application_id, event.host
            if (
                self._inflight_by_app[app] >= self.per_application
                or self._inflight_by_host[host] >= self.per_host
            ):
                surplus.append(event.seq)  # this batch filled its application's or host's share
                continue
            self._inflight_by_app[app] += 1
            self._inflight_by_host[host] += 1
            task = asyncio.get_running_loop().create_task(self._deliver(event))
            self._inflight.add(task)
            task.add_done_callback(functools.partial(self._finished, app, host))
            started += 1
        # Given back at once: the next claim passes over their application or host while its
        # share is in flight, so everyone else's events get the free slots.
        await self.store.release(surplus, worker_id=self.worker_id)
        self._gave_back = bool(surplus)
        return started

    def _finished(self, app: str, host: str, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        for counter, key in ((self._inflight_by_app, app), (self._inflight_by_host, host)):
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]
        self._wake.set()  # a slot is free, and the flow's next event may be due

    async def _deliver(self, event: WebhookEvent) -> None:
        try:
            await self._attempt(event)
        except Exception:
            # Left leased: another claim retries it once the lease runs out.
            log.exception("webhook attempt failed", event_id=event.event_id)

    async def _attempt(self, event: WebhookEvent) -> None:
        signing = await self.secrets(event.application_id)
        attempts = event.attempts + 1
        if not signing:
            await self._settle_failure(event, attempts, _Answer(None, "unknown application"), True)
            return
        try:
            self.guard.policy.check_url(event.url)
        except RefusedDestination as exc:
            # The URL itself is refused (stored before the guard, or the settings changed):
            # no later attempt can differ, so the event is dead at once.
            await self._settle_failure(event, attempts, _Answer(None, f"refused: {exc}"), True)
            return
        answer = await self._post(event, signing)
        now = self.clock.now()
        if answer.status is not None and 200 <= answer.status < 300:
            await self.store.mark_delivered(event.seq, attempts=attempts, now=now)
            self.delivered += 1
            WEBHOOK_ATTEMPTS.labels("delivered").inc()
            return
        if answer.status == 410:
            # Standard Webhooks: 410 Gone disables the endpoint. Every pending event for it dies.
            dropped = await self.store.disable_endpoint(
                event,
                attempts=attempts,
                error=answer.error,
                reason=f"endpoint gone (410 to {event.event_id})",
            )
            self.failed += 1
            WEBHOOK_ATTEMPTS.labels("gone").inc()
            log.warning("webhook endpoint gone", url=event.url, dropped=dropped)
            return
        give_up = self.retry.gives_up(attempts, event.created_at, now)
        await self._settle_failure(event, attempts, answer, give_up)

    async def _settle_failure(
        self, event: WebhookEvent, attempts: int, answer: _Answer, give_up: bool
    ) -> None:
        now = self.clock.now()
        retry_at = None
        if not give_up:
            delay = self.retry.delay(attempts, self._rng)
            if answer.retry_after is not None:
                delay = max(delay, min(answer.retry_after, self.retry.cap_seconds))
            retry_at = now + timedelta(seconds=delay)
        await self.store.mark_failed(
            event.seq,
            worker_id=self.worker_id,
            attempts=attempts,
            error=answer.error,
            retry_at=retry_at,
        )
        self.failed += 1
        WEBHOOK_ATTEMPTS.labels("dead" if give_up else "retry").inc()
        log.info(
            "webhook not delivered",
            event_id=event.event_id,
            flow_id=event.flow_id,
            attempts=attempts,
            error=answer.error,
            retry_at=retry_at.isoformat() if retry_at else None,
        )

    async def _post(self, event: WebhookEvent, signing: list[str]) -> _Answer:
        body = event.body.encode()
        headers = sign_headers(
            signing, event.event_id, body, timestamp=int(self.clock.now().timestamp())
        )
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = f"failover-otp-webhooks/{__version__}"
        try:
            async with self._http().post(
                event.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                status = response.status
                retry_after = (
                    _retry_after(response.headers.get("Retry-After"))
                    if status in _THROTTLED
                    else None
                )
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return _Answer(None, f"{type(exc).__name__}: {exc}"[:500])
        return _Answer(status, f"HTTP {status}", retry_after)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                # Every name is resolved through the guard, which refuses addresses webhooks
                # may not reach before aiohttp connects to them (DNS rebinding).
                connector=aiohttp.TCPConnector(
                    limit=self.concurrency, resolver=self.guard.connector_resolver()
                ),
            )
        return self._session


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        seconds = float(value.strip())
        if seconds >= 0:
            return seconds
    return None  # an HTTP date: the regular backoff applies
