"""Builds the running service from settings: the one place concrete adapters are chosen."""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from failover_otp.key_file import key_from_file
from failover_otp.providers.base import Provider
from failover_otp.providers.sandbox.embedded import EmbeddedSandboxProvider
from failover_otp.providers.sandbox.profiles import profile_named
from failover_otp.services.account_ports import Applications
from failover_otp.services.audit import AuditTrail
from failover_otp.services.auth import AuthService
from failover_otp.services.auto_ttl_settings import AutoTtlSettings
from failover_otp.services.clock import Clock, SystemClock
from failover_otp.services.conversion import ConversionReports
from failover_otp.services.dashboard import DashboardService
from failover_otp.services.dashboard_sessions import DashboardSessions
from failover_otp.services.delivery_history import DeliveryHistory
from failover_otp.services.egress import CallbackGuard, EgressPolicy
from failover_otp.services.flow_reads import FlowReads
from failover_otp.services.flows import FlowService
from failover_otp.services.health import HealthService
from failover_otp.services.housekeeping import Housekeeping
from failover_otp.services.operators import OperatorService
from failover_otp.services.ports import Listings, WebhookOutbox
from failover_otp.services.provider_callbacks import ProviderCallbacks
from failover_otp.services.sandbox_inbox import SandboxInbox
from failover_otp.services.security import Security, build_code_book, build_security
from failover_otp.services.sending import SendService, default_ttl_policy
from failover_otp.services.storage import Storage
from failover_otp.services.timing_view import TimingView
from failover_otp.services.webhooks import WebhookEvents
from failover_otp.settings import ProviderName, Settings
from failover_otp.store import readiness
from failover_otp.store.availability import unavailable_reason
from failover_otp.store.database import Database
from failover_otp.store.deadline_queue import DeadlineQueue
from failover_otp.store.flow_store import FlowStore
from failover_otp.store.migrate import upgrade
from failover_otp.store.sql_storage import sql_storage
from failover_otp.store.stats_store import StatsStore
from failover_otp.store.ttl_policy_store import TtlPolicyStore
from failover_otp.worker.deadlines import DeadlineWorker
from failover_otp.worker.pending_poller import PendingPoller
from failover_otp.worker.webhooks import RetryPolicy, WebhookWorker

CALLBACK_TOKEN_STATE = "routee_callback_token"  # noqa: S105 - the name of a row


class WorkerLoop(Protocol):
    async def run(self, stop: asyncio.Event) -> None: ...


@dataclass
class Services:
    settings: Settings
    db: Database
    flows: FlowService
    # Every storage port, on this database (services/storage.py).
    storage: Storage
    # The concrete stores behind the web-facing services (web/ itself imports no store).
    flow_store: FlowStore
    deadline_queue: DeadlineQueue
    # The API's deliveries, the tracking search and the dashboard's table.
    listings: Listings
    apps: Applications
    auth: AuthService
    provider: Provider
    callback_token: str
    clock: Clock
    webhook_store: WebhookOutbox
    # Managed codes, Idempotency-Key, abuse and cost control (docs/security.md).
    security: Security
    # Where callback URLs may point: checked at send time and on every delivery attempt.
    callbacks: CallbackGuard

    # -- what the web layer calls: each made on first use ------------------------------------

    @cached_property
    def sending(self) -> SendService:
        """The two send use cases (``POST /otp/send-failover``, ``POST /failover``)."""
        return SendService(
            self.flows,
            self.security,
            self.callbacks,
            TtlPolicyStore(self.db),
            default_policy=default_ttl_policy(self.settings),
        )

    @cached_property
    def reads(self) -> FlowReads:
        """One flow's story or tracking, the tracking search, the OTP deliveries list."""
        return FlowReads(
            self.flows,
            self.listings,
            time_scale=self.settings.time_scale,
            count_limit=self.settings.list_count_limit,
        )

    @cached_property
    def health(self) -> HealthService:
        s = self.settings
        return HealthService(
            functools.partial(
                readiness.check,
                self.db,
                min_free_bytes=s.health_min_free_disk_mb * 2**20,
                within_seconds=s.db_pool_timeout_seconds,
            ),
            self.deadline_queue,
            self.clock,
        )

    @cached_property
    def conversion(self) -> ConversionReports:
        return ConversionReports(StatsStore(self.db), self.clock)

    @cached_property
    def dashboard(self) -> DashboardService:
        s = self.settings
        return DashboardService(
            StatsStore(self.db),
            self.apps,
            self.flows,
            self.clock,
            self.listings,
            count_limit=s.list_count_limit,
            refusals=self.storage.refusals,
            time_scale=s.time_scale,
            sms_price=s.price_sms,
            currency=s.dashboard_currency,
        )

    @cached_property
    def dashboard_sessions(self) -> DashboardSessions:
        s = self.settings
        return DashboardSessions(
            self.storage.sessions,
            self.apps,
            self.operators,
            self.clock,
            session_seconds=s.dashboard_session_seconds,
            sign_in_failures=s.dashboard_sign_in_failures_per_15min,
        )

    @cached_property
    def operators(self) -> OperatorService:
        return OperatorService(self.storage.operators, self.apps, self.clock)

    @cached_property
    def auto_ttl(self) -> AutoTtlSettings:
        """Applications' own auto ttl settings (``apps auto-ttl``)."""
        return AutoTtlSettings(TtlPolicyStore(self.db), self.clock)

    @cached_property
    def audit(self) -> AuditTrail:
        return AuditTrail(self.storage.audit, self.clock)

    @cached_property
    def timing(self) -> TimingView:
        s = self.settings
        return TimingView(
            self.flows.history,
            self.storage.replays,
            self.clock,
            auto_ttl_min_seconds=s.auto_ttl_min_seconds,
            auto_ttl_max_seconds=s.auto_ttl_max_seconds,
            time_scale=s.time_scale,
        )

    @cached_property
    def provider_callbacks(self) -> ProviderCallbacks:
        """Routee's delivery reports, at the path that carries ``callback_token``."""
        from failover_otp.providers.routee.wire import parse_callback

        return ProviderCallbacks(self.flows, self.callback_token, parse_callback)

    @cached_property
    def sandbox_inbox(self) -> SandboxInbox:
        sandbox = self.provider if isinstance(self.provider, EmbeddedSandboxProvider) else None
        return SandboxInbox(self.flows, sandbox.sim if sandbox is not None else None)

    # -- what a worker runs ----------------------------------------------------------------------

    def deadline_worker(self) -> DeadlineWorker:
        s = self.settings
        return DeadlineWorker(
            self.storage.deadlines,
            self.flows,
            self.clock,
            poll_seconds=s.worker_poll_seconds,
            lease_seconds=s.worker_lease_seconds,
            batch=s.worker_batch,
            # Each fire holds one pooled connection at a time, for one statement or transaction:
            # as many fires as the pool has connections keep it busy, and the rest wait for a
            # slot here rather than on the pool, whose timeout would fail them (a failed fire
            # waits for its lease to run out: late).
            concurrency=max(4, s.db_pool_size),
        )

    def worker_loops(self) -> list[WorkerLoop]:
        """What a worker runs (in `worker`, or inside `serve` unless --no-worker): deadlines,
        customer webhooks, housekeeping and, unless switched off, the pending-message poller."""
        poller = self.pending_poller()
        loops: list[WorkerLoop] = [
            self.deadline_worker(),
            self.webhook_worker(),
            self.housekeeping(),
        ]
        return loops + ([poller] if poller is not None else [])

    def pending_poller(self) -> PendingPoller | None:
        """Looks up steps still waiting on the provider (lost callbacks); runs beside the
        deadline worker. None when switched off (``FOTP_PENDING_POLL_INTERVAL_SECONDS=0``)."""
        s = self.settings
        if s.pending_poll_interval_seconds <= 0:
            return None
        return PendingPoller(
            self.storage.pending,
            self.flows,
            self.clock,
            interval_seconds=s.pending_poll_interval_seconds,
            max_per_second=s.pending_poll_max_per_second,
            time_scale=s.time_scale,
        )

    def webhook_worker(self) -> WebhookWorker:
        """Delivers customer webhooks from the outbox; runs wherever the deadline worker runs."""
        s = self.settings
        return WebhookWorker(
            self.webhook_store,
            self.auth.signing_secrets,
            self.clock,
            retry=RetryPolicy(
                base_seconds=s.webhook_retry_base_seconds,
                cap_seconds=s.webhook_retry_cap_seconds,
                max_attempts=s.webhook_max_attempts,
                max_age_seconds=s.webhook_max_age_seconds,
            ),
            poll_seconds=s.worker_poll_seconds,
            lease_seconds=s.webhook_lease_seconds,
            timeout_seconds=s.webhook_timeout_seconds,
            batch=s.worker_batch,
            concurrency=s.webhook_concurrency,
            per_application=s.webhook_concurrency_per_application,
            per_host=s.webhook_concurrency_per_host,
            guard=self.callbacks,
        )

    def housekeeping(self) -> Housekeeping:
        """Purges expired rows and flows past their retention; runs with the workers."""
        s = self.settings
        return Housekeeping(
            self.storage.expiry,
            self.clock,
            flow_retention_days=s.flow_retention_days,
            webhook_retention_days=s.webhook_retention_days,
            audit_retention_days=s.audit_retention_days,
            interval_seconds=s.purge_interval_seconds,
            delivery_window_hours=s.delivery_model_window_hours,
        )


def storage_error_reason(error: BaseException) -> str | None:
    """How the store reads an error of its drivers: ``busy`` or ``unavailable`` (a condition of
    the moment, answered 503 + Retry-After) or None (a bug). Handed to the web's error handlers,
    which may not import the store."""
    return unavailable_reason(error)


async def migrate_schema(database_url: str) -> None:
    """Create or upgrade the database's schema (``failover-otp migrate``)."""
    await upgrade(database_url)


def standalone_sandbox(
    port: int,
    time_scale: float,
    *,
    app_id: str | None,
    app_secret: str | None,
    callbacks: bool,
    balance: float,
    profile: str,
    seed: int,
) -> Coroutine[Any, Any, None]:
    """The Routee sandbox alone on loopback (``failover-otp sandbox``): a coroutine that serves
    until cancelled. Raises ValueError for an unknown profile (before anything is made)."""
    from failover_otp.providers.sandbox.wire_server import serve_sandbox

    chosen = profile_named(profile, seed)
    return serve_sandbox(
        "127.0.0.1",
        port,
        time_scale,
        app_id=app_id,
        app_secret=app_secret,
        callbacks=callbacks,
        balance=balance,
        profile=chosen,
    )


def build_provider(settings: Settings, callback_token: str) -> Provider:
    if settings.provider is ProviderName.SANDBOX:
        return EmbeddedSandboxProvider(
            time_scale=settings.time_scale,
            profile=profile_named(settings.sandbox_profile, settings.sandbox_seed),
        )
    from failover_otp.providers.routee.client import RouteeProvider

    return RouteeProvider(settings, callback_token=callback_token)


@asynccontextmanager
async def open_services(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Services]:
    if migrate:
        await upgrade(settings.database_url)
    db = Database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    clock = SystemClock()
    storage = sql_storage(db, purge_batch=settings.purge_batch_size)
    apps = storage.apps
    callback_token = (
        settings.callback_token.get_secret_value()
        or key_from_file(settings.key_file, CALLBACK_TOKEN_STATE)[:32]
        or await apps.state_value(CALLBACK_TOKEN_STATE, secrets.token_urlsafe(24))
    )
    provider = build_provider(settings, callback_token)
    flow_store = FlowStore(db)
    codes = await build_code_book(settings, storage, clock)
    history = DeliveryHistory(
        storage.deliveries,
        clock,
        window_hours=settings.delivery_model_window_hours,
        cache_seconds=settings.delivery_model_cache_seconds,
    )
    flows = FlowService(
        storage.flows,
        provider,
        clock,
        time_scale=settings.time_scale,
        webhooks=WebhookEvents(time_scale=settings.time_scale),
        history=history,
        prepare_send=codes.prepare_send,
    )
    await provider.start(flows.report)
    services = Services(
        settings=settings,
        db=db,
        storage=storage,
        flows=flows,
        flow_store=flow_store,
        deadline_queue=DeadlineQueue(db),
        listings=storage.listings,
        apps=apps,
        auth=AuthService(apps, clock, token_ttl_seconds=settings.token_ttl_seconds),
        provider=provider,
        callback_token=callback_token,
        clock=clock,
        webhook_store=storage.outbox,
        security=build_security(settings, storage, codes, flows, clock),
        callbacks=CallbackGuard(
            EgressPolicy.from_settings(
                settings.webhook_allowed_targets, allow_http=settings.webhook_allow_http
            )
        ),
    )
    try:
        yield services
    finally:
        await flows.aclose()
        await provider.aclose()
        await db.dispose()
