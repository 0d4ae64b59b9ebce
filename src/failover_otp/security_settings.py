"""Settings of the security features: managed codes, idempotency keys, abuse and cost control.

One of the groups :class:`failover_otp.settings.Settings` is made of (the others are in
``setting_groups.py``); each one is read from ``FOTP_<NAME>``.
``docs/security.md`` lists every default and the reasoning behind it. A limit of ``0`` switches
that one limit off.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SecuritySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOTP_", extra="ignore")

    # Codes the service generates when POST /otp/send-failover omits `pin`.
    code_length: int = Field(default=6, ge=4, le=10)
    # How long a code can be verified, from the moment the flow starts (NIST/ASVS: 10 minutes).
    code_ttl_seconds: int = Field(default=600, ge=30, le=86_400)
    # Verification attempts per flow (a right one counts too); a resend never resets them.
    code_max_attempts: int = Field(default=5, ge=1, le=100)
    # Wrong codes accepted for evaluation per destination number per UTC day, across flows.
    code_failures_per_number_per_day: int = Field(default=20, ge=0)
    # Key of HMAC-SHA256(key, flow_id || code); generated once and kept in the database if empty.
    code_hmac_key: SecretStr = SecretStr("")

    # Idempotency-Key: how long a key (and the response it replays) is kept, and how long an
    # in-flight request keeps its key before a retry may take over (its process died).
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60)
    idempotency_lease_seconds: float = Field(default=60.0, gt=0)

    # Send limits (fixed windows, counted in the database so every process shares them).
    rate_limit_enabled: bool = True
    rate_limit_number_per_10min: int = Field(default=5, ge=0)
    rate_limit_number_per_day: int = Field(default=20, ge=0)
    rate_limit_prefix_per_hour: int = Field(default=100, ge=0)
    # The prefix is the number without its last N digits (N=4: blocks of 10,000 numbers).
    rate_limit_prefix_drop_digits: int = Field(default=4, ge=1, le=8)
    rate_limit_application_per_minute: int = Field(default=600, ge=0)
    rate_limit_application_per_day: int = Field(default=10_000, ge=0)
    rate_limit_country_per_hour: int = Field(default=1_000, ge=0)
    # ISO 3166 alpha-2 codes, comma separated (e.g. "GR,CY"); empty: every country.
    allowed_countries: str = ""
    # VoIP numbers are refused unless this is set (premium rate and the like always are).
    allow_voip_numbers: bool = False
    # Estimated spend per application per UTC day (account currency); 0: no cap.
    spend_cap_per_day: float = Field(default=50.0, ge=0)
    # Prices the spend estimate assumes per message (the sandbox's; set Routee's real ones).
    price_viber: float = Field(default=0.0093, ge=0)
    price_sms: float = Field(default=0.0375, ge=0)
    price_voice: float = Field(default=0.042, ge=0)

    # --- Number reach and spend reservation (docs/security.md §3) ---
    # Satellite and international-network numbers (+870, +881, +882, +883...: calling codes of
    # no country, charged like premium rate) are refused unless this is set.
    allow_satellite_numbers: bool = False

    # Server keys outside the database (docs/security.md, "Files and keys"): a file, readable by
    # its owner only, holding the master key the code key and the callback token derive from.
    key_file: str = ""

    # -- Request boundary (docs/security.md, "Hostile input") --------------------------------
    # A request body over this many bytes is refused with 413 before it is read whole.
    max_request_bytes: int = Field(default=65_536, ge=1_024)
