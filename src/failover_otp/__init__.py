"""Failover OTP: one-time passwords over Viber with SMS failover."""

__version__ = "0.1.0"
