"""The send limits of ``serve --demo``: wide enough for every demo the quickstart documents.

The production defaults (docs/security.md) allow five sends per number in ten minutes; the
quickstart sends 1 + 20 + 50 flows to ten numbers, and its "longer demo" 5,000 (500 per number,
one number prefix, one country, a worst case of 5,000 x 0.0468 = 234 in spend). Each limit
below holds those demos with room for a second run on the same day. A limit set explicitly
(``FOTP_*`` or an option) is kept as given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from failover_otp.settings import Settings

DEMO_LIMITS: dict[str, int | float] = {
    "rate_limit_number_per_10min": 2_000,
    "rate_limit_number_per_day": 20_000,
    "rate_limit_prefix_per_hour": 20_000,
    "rate_limit_application_per_minute": 20_000,
    "rate_limit_application_per_day": 100_000,
    "rate_limit_country_per_hour": 20_000,
    "spend_cap_per_day": 1_000.0,
}


def with_demo_limits(settings: Settings) -> Settings:
    """``settings`` with the demo's limits wherever nothing was set explicitly."""
    update = {k: v for k, v in DEMO_LIMITS.items() if k not in settings.model_fields_set}
    return settings.model_copy(update=update)


def describe_limits(settings: Settings) -> str:
    """One line saying which send limits apply (printed at start)."""
    if not settings.rate_limit_enabled:
        limits = "send limits off"
    else:
        limits = (
            f"{settings.rate_limit_number_per_10min:,} sends per number per 10 min, "
            f"{settings.rate_limit_application_per_minute:,} per minute"
        )
    cap = settings.spend_cap_per_day
    spend = f"spend cap {cap:,.2f} a day" if cap else "no spend cap"
    return f"{limits}, {spend}"
