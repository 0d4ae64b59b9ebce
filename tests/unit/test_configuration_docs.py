"""docs/configuration.md names every setting the service reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from failover_otp.security_settings import SecuritySettings
from failover_otp.setting_groups import (
    DatabaseSettings,
    RouteeSettings,
    WebhookSettings,
)
from failover_otp.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    missing = [
        f"FOTP_{name.upper()}"
        for name in Settings.model_fields
        if f"`FOTP_{name.upper()}`" not in text
    ]
    assert missing == [], f"add these settings to docs/configuration.md: {missing}"


# Named on this page but read by the client and the CLI's client commands, not by the service.
CLIENT_VARIABLES = {"FOTP_API_URL", "FOTP_CLIENT_APP_ID", "FOTP_CLIENT_APP_SECRET"}


def test_every_documented_variable_is_read() -> None:
    named = set(re.findall(r"`(FOTP_[A-Z0-9_]+)`", DOC.read_text())) - CLIENT_VARIABLES
    read = {f"FOTP_{name.upper()}" for name in Settings.model_fields}
    assert named - read == set(), "documented, but no setting reads it"


def test_each_setting_belongs_to_one_group() -> None:
    groups = [g for g in Settings.__bases__ if issubclass(g, BaseSettings)]
    assert len(groups) == 10
    owners: dict[str, list[str]] = {}
    for group in groups:
        for name in group.model_fields:
            owners.setdefault(name, []).append(group.__name__)
    assert {n: o for n, o in owners.items() if len(o) > 1} == {}
    assert set(owners) == set(Settings.model_fields)


@pytest.mark.parametrize(
    ("group", "variable", "value", "field"),
    [
        (RouteeSettings, "FOTP_ROUTEE_TIMEOUT_SECONDS", "3.5", "routee_timeout_seconds"),
        (DatabaseSettings, "FOTP_DB_POOL_TIMEOUT_SECONDS", "7.5", "db_pool_timeout_seconds"),
        (WebhookSettings, "FOTP_WEBHOOK_MAX_ATTEMPTS", "9", "webhook_max_attempts"),
        (SecuritySettings, "FOTP_CODE_LENGTH", "8", "code_length"),
    ],
)
def test_a_group_alone_reads_the_same_variable_as_settings(
    monkeypatch: pytest.MonkeyPatch,
    group: type[BaseSettings],
    variable: str,
    value: str,
    field: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert str(getattr(group(), field)) == str(getattr(Settings(), field)) == value
