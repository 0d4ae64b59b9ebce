"""The auto ttl settings are checked when the service starts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from failover_otp.settings import Settings


def test_settings_refuse_an_auto_ttl_lower_bound_above_the_upper_one() -> None:
    with pytest.raises(ValidationError, match="FOTP_AUTO_TTL_MIN_SECONDS must not exceed"):
        Settings(auto_ttl_min_seconds=60, auto_ttl_max_seconds=30)
    assert Settings(auto_ttl_min_seconds=30, auto_ttl_max_seconds=30).auto_ttl_max_seconds == 30
