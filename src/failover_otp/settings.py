"""Typed settings: CLI options, else ``FOTP_*`` environment variables, else these defaults.

:class:`Settings` is every group of ``setting_groups.py`` (one class per concern) and the
security features' ``SecuritySettings`` together; docs/configuration.md lists them by group.
"""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from failover_otp.provider_names import ProviderName
from failover_otp.security_settings import SecuritySettings
from failover_otp.setting_groups import (
    DEFAULT_DATABASE_URL,
    DashboardSettings,
    DatabaseSettings,
    DeliveryModelSettings,
    LoadSettings,
    RetentionSettings,
    RouteeSettings,
    ServerSettings,
    WebhookSettings,
    WorkerSettings,
)

__all__ = ["DEFAULT_DATABASE_URL", "ProviderName", "Settings"]


class Settings(
    ServerSettings,
    DatabaseSettings,
    LoadSettings,
    RouteeSettings,
    WorkerSettings,
    WebhookSettings,
    DashboardSettings,
    RetentionSettings,
    DeliveryModelSettings,
    SecuritySettings,
):
    model_config = SettingsConfigDict(env_prefix="FOTP_", extra="ignore")
