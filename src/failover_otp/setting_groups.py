"""The service's settings, one class per concern; :class:`failover_otp.settings.Settings` is
all of them together.

Each group is a pydantic-settings class of its own, so a part of the service can ask for just
the settings it reads (``RouteeProvider`` takes ``RouteeSettings``, the abuse guard
``SecuritySettings``), and a test can build one group alone. The fields keep their full names
(``routee_timeout_seconds``, not ``routee.timeout_seconds``): each is read from
``FOTP_<NAME>``, exactly as ``docs/configuration.md`` and the contract list them, and existing
``settings.<name>`` reads keep working.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from failover_otp.provider_names import ProviderName

DEFAULT_DATABASE_URL = "sqlite:///./data/failover-otp.db"

# Every group reads FOTP_<NAME>, alone or in Settings.
ENV = SettingsConfigDict(env_prefix="FOTP_", extra="ignore")


class ServerSettings(BaseSettings):
    """The process: where it listens, what it runs, how it logs, how fast time passes."""

    model_config = ENV

    host: str = "127.0.0.1"
    port: int = 8080
    # `serve`'s processes on one port (cli/serve_processes.py): 0 is one per core on
    # PostgreSQL; SQLite always runs one (a single writer).
    serve_workers: int = Field(default=0, ge=0)
    time_scale: float = Field(default=1.0, gt=0)
    run_worker: bool = True
    log_level: str = "info"
    log_json: bool = False
    data_dir: str = "./data"
    # Access tokens handed out by POST /oauth/token.
    token_ttl_seconds: int = 3600


class DatabaseSettings(BaseSettings):
    """The database and what overload does to its waits (docs/security.md, "Overload")."""

    model_config = ENV

    database_url: str = DEFAULT_DATABASE_URL
    # Pool size per process for PostgreSQL.
    db_pool_size: int = 10
    # How long a request waits for a database connection (PostgreSQL's pool, SQLite's writer)
    # before it is answered 503 with Retry-After; the workers wait as long and retry.
    db_pool_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    # Readiness (GET /health/ready, /health): SQLite needs this much free disk beside its file.
    health_min_free_disk_mb: int = Field(default=64, ge=0)


class LoadSettings(BaseSettings):
    """How much one process takes on at once, and how far a listing counts."""

    model_config = ENV

    # At most this many requests in flight per process (web/admission.py); past it, 503 with
    # Retry-After at once instead of a growing queue. 0: no limit.
    limit_concurrency: int = Field(default=0, ge=0)
    # Shed new requests the same way while the process's event loop runs later than this
    # (milliseconds): it has more work than CPU, and every request in it is slowing. 0: off.
    limit_loop_lag_ms: float = Field(default=0, ge=0)
    # List and search results are counted up to this many matches, and only these can be paged
    # through (narrow the filters for more); 0 counts every match (slow on big tables).
    list_count_limit: int = Field(default=10_000, ge=0)


class RouteeSettings(BaseSettings):
    """The provider: which one, and Routee's account, addresses and wire facts."""

    model_config = ENV

    provider: ProviderName = ProviderName.SANDBOX
    routee_app_id: str = ""
    routee_app_secret: SecretStr = SecretStr("")
    routee_base_url: str = "https://connect.routee.net"
    routee_auth_url: str = "https://auth.routee.net/oauth/token"
    # Base URL at which Routee's delivery reports reach this service.
    public_url: str = ""
    # Unguessable path segment of /callbacks/routee/{token}; generated and stored if empty.
    callback_token: SecretStr = SecretStr("")
    routee_timeout_seconds: float = 10.0
    routee_max_connections: int = 256
    # Routee wire facts to verify on first live use (docs/routee.md, providers/routee/
    # wire_choices.py): how POST /viber/otp takes "to" (a string or an array), and which field
    # carries a Viber button.
    routee_viber_otp_to: Literal["string", "array"] = "string"
    routee_viber_button_field: Literal["viberAction", "action"] = "viberAction"
    # The embedded sandbox's outcomes: "" the contract's digit table; "realistic" delivery
    # times drawn from distributions (providers/sandbox/profiles.py), seeded by sandbox_seed.
    sandbox_profile: Literal["", "realistic"] = ""
    sandbox_seed: int = 0


class WorkerSettings(BaseSettings):
    """The deadline worker and the pending-message poller."""

    model_config = ENV

    # How often to look for due deadlines when none is known to be near, and the lease a
    # claimed deadline gets before another worker may take it over.
    worker_poll_seconds: float = 0.2
    worker_lease_seconds: float = 30.0
    worker_batch: int = 100
    # Pending-message poller (worker/pending_poller.py): a step still waiting for its final
    # status is looked up every interval (engine seconds, divided by the time scale) until its
    # ttl ends, so a lost callback never leaves a flow waiting for the deadline; at most
    # max_per_second look-ups per process. An interval of 0 switches the poller off.
    pending_poll_interval_seconds: float = Field(default=15.0, ge=0)
    pending_poll_max_per_second: float = Field(default=20.0, gt=0)


class WebhookSettings(BaseSettings):
    """Customer webhooks: their durable retry schedule, destinations and fairness
    (docs/webhooks.md, docs/security.md)."""

    model_config = ENV

    # Retry n waits min(cap, base * 2**(n-1)) seconds, +/-20% jitter; an event is given up
    # (dead) after max_attempts or max_age_seconds.
    webhook_retry_base_seconds: float = Field(default=1.0, gt=0)
    webhook_retry_cap_seconds: float = Field(default=600.0, gt=0)
    webhook_max_attempts: int = Field(default=150, ge=1)
    webhook_max_age_seconds: float = Field(default=86400.0, gt=0)
    # One attempt's time limit, and the lease a claimed event gets (kept above the time limit).
    webhook_timeout_seconds: float = Field(default=15.0, gt=0)
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_concurrency: int = Field(default=64, ge=1)
    # Callback URLs must be https and reach public addresses only; http is allowed only with
    # this set, and loopback/private/... destinations only when listed (comma separated host
    # names, addresses and CIDR ranges, e.g. "127.0.0.0/8,::1,hooks.bank.internal").
    webhook_allow_http: bool = False
    webhook_allowed_targets: str = ""
    # Attempts in flight per worker process for one application and for one receiving host
    # (host:port), so a slow receiver cannot take every slot of FOTP_WEBHOOK_CONCURRENCY.
    webhook_concurrency_per_application: int = Field(default=8, ge=1)
    webhook_concurrency_per_host: int = Field(default=16, ge=1)


class DashboardSettings(BaseSettings):
    """The operator dashboard (docs/operations.md#the-dashboard, docs/security.md §10)."""

    model_config = ENV

    # The currency its costs are labelled with, the Routee account's (prices are stored as the
    # provider reports them).
    dashboard_currency: str = Field(default="EUR", min_length=1, max_length=8)
    # How long a dashboard sign-in lasts.
    dashboard_session_seconds: int = Field(default=12 * 3600, ge=60, le=30 * 86_400)
    # Failed operator sign-ins allowed per username per 15 minutes (password guessing); 0: off.
    dashboard_sign_in_failures_per_15min: int = Field(default=20, ge=0)


class RetentionSettings(BaseSettings):
    """What is kept how long, and how the worker purges the rest (docs/security.md §9)."""

    model_config = ENV

    # The worker purges what has expired every this many seconds (0: never; `failover-otp
    # purge` still does), deleting at most purge_batch_size rows per transaction.
    purge_interval_seconds: float = Field(default=300.0, ge=0)
    purge_batch_size: int = Field(default=100, ge=1, le=10_000)
    # Flows (phone numbers are personal data) are deleted this many days after they were
    # created; 0 keeps them forever.
    flow_retention_days: int = Field(default=0, ge=0)
    # Delivered and given-up webhook events are kept this many days (for support questions).
    webhook_retention_days: int = Field(default=7, ge=1)
    # The audit trail is kept this many days; 0 keeps it forever.
    audit_retention_days: int = Field(default=400, ge=0)


class DeliveryModelSettings(BaseSettings):
    """Learned failover timing (docs/adaptive-failover.md)."""

    model_config = ENV

    # The delivery model learns from the steps that ended within this many hours (a sliding
    # window of hourly histograms); each process re-reads it at most every cache_seconds.
    delivery_model_window_hours: int = Field(default=168, ge=1, le=24 * 90)
    delivery_model_cache_seconds: float = Field(default=30.0, ge=0, le=3600)
    # "ttl": "auto" (seconds): the bounds and threshold a step gets when its application set
    # none (`failover-otp apps auto-ttl`).
    auto_ttl_min_seconds: float = Field(default=5.0, gt=0, le=86_400)
    auto_ttl_max_seconds: float = Field(default=120.0, gt=0, le=86_400)
    auto_ttl_threshold: float = Field(default=0.95, gt=0, lt=1)

    @model_validator(mode="after")
    def _auto_ttl_bounds(self) -> Self:
        # Refused at start rather than as a 500 on the first "ttl": "auto" send.
        if self.auto_ttl_min_seconds > self.auto_ttl_max_seconds:
            raise ValueError("FOTP_AUTO_TTL_MIN_SECONDS must not exceed FOTP_AUTO_TTL_MAX_SECONDS")
        return self
