"""The operator dashboard at ``/dashboard`` (docs/operations.md, docs/quickstart.md)."""

from failover_otp.web.dashboard.routes import install, router

__all__ = ["install", "router"]
