"""The ``failover-otp`` command."""
