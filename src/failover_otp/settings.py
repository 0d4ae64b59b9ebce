"""Typed settings: CLI options, else ``FOTP_*`` environment variables, else these defaults."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./data/failover-otp.db"


class ProviderName(StrEnum):
    SANDBOX = "sandbox"
    ROUTEE = "routee"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOTP_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = DEFAULT_DATABASE_URL
    provider: ProviderName = ProviderName.SANDBOX
    time_scale: float = Field(default=1.0, gt=0)
    run_worker: bool = True

    # Routee (provider=routee)
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

    # Access tokens handed out by POST /oauth/token.
    token_ttl_seconds: int = 3600
    # Worker: how often to look for due deadlines when none is known to be near, and the lease a
    # claimed deadline gets before another worker may take it over.
    worker_poll_seconds: float = 0.2
    worker_lease_seconds: float = 30.0
    worker_batch: int = 100
    # Pool size per process for PostgreSQL.
    db_pool_size: int = 10
    log_level: str = "info"
    log_json: bool = False
    data_dir: str = "./data"
