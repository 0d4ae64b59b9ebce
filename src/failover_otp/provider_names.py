"""The providers a service can send through (a module of its own: the CLI's options name them
without importing the settings machinery, which keeps ``failover-otp --help`` fast)."""

from __future__ import annotations

from enum import StrEnum


class ProviderName(StrEnum):
    SANDBOX = "sandbox"
    ROUTEE = "routee"
