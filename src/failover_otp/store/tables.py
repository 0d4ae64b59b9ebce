"""Every table of the service, in one place (SQLAlchemy Core metadata; Alembic mirrors it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, stored naive-UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        result: datetime = value.replace(tzinfo=UTC)
        return result


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

applications = Table(
    "applications",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    # The key customer webhooks are signed with (``whsec_...``, Standard Webhooks); migration 0003.
    Column("webhook_secret", String(128), nullable=True),
    # The secret before the last rotation, still signing (beside the new one) until ``_until``
    # (``apps rotate-webhook-secret --overlap``); migration 0011.
    Column("webhook_secret_previous", String(128), nullable=True),
    Column("webhook_secret_previous_until", UTCDateTime, nullable=True),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("application_id", String(32), ForeignKey("applications.id"), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index(None, "expires_at"),
)

flows = Table(
    "flows",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("application_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("label", String(350), nullable=True),
    Column("phone", String(20), nullable=False),
    Column("callback_url", Text, nullable=True),
    # The request's steps as the API echoes them, with each step's channel content.
    Column("request", JSON, nullable=False),
    # The core's view of the steps to run (channel, destination, ttl, failover triggers).
    Column("plans", JSON, nullable=False),
    Column("total_cost", Float, nullable=False, default=0.0),
    Column("termination_channel", String(8), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False, default=0),
    # Standard Failover callback strategy (OnChange | OnCompletion); migration 0002.
    Column("callback_strategy", String(16), nullable=True),
    # When the flow's code was verified (migration 0010): conversion outlives the code's row.
    Column("verified_at", UTCDateTime, nullable=True),
    # Stopped because its code was verified: no later report reopens it (migration 0014).
    Column("cancelled", Boolean, nullable=False, default=False, server_default=false()),
    Index(None, "application_id", "created_at", "id"),
    Index(None, "application_id", "status", "created_at", "id"),
    # Tracking search by terminationChannel (migration 0002).
    Index(None, "application_id", "termination_channel", "created_at", "id"),
    # Listing one kind of flow (migration 0009).
    Index(None, "application_id", "kind", "created_at", "id"),
)

steps = Table(
    "steps",
    metadata,
    Column("flow_id", String(36), ForeignKey("flows.id"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("application_id", String(32), nullable=False),
    Column("tracking_id", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("label", String(350), nullable=True),
    Column("status", String(16), nullable=False),
    Column("detailed_status", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("expired_on_delivery_at", UTCDateTime, nullable=True),
    Column("price", Float, nullable=True),
    Column("parts", Integer, nullable=False, default=1),
    Column("country", String(4), nullable=True),
    Column("operator", String(100), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("reject_reason", String(32), nullable=True),
    Column("failover_from", String(64), nullable=True),
    Column("send_attempts", Integer, nullable=False, default=1),
    # Voice: who answered and the call's length in seconds, as reported (migration 0014).
    Column("answered_by", String(16), nullable=True),
    Column("call_seconds", Integer, nullable=True),
    # The ttl an auto (``"ttl": "auto"``) step was given and why (migration 0015).
    Column("ttl_seconds", Float, nullable=True),
    Column("ttl_reason", Text, nullable=True),
    Index(None, "application_id", "created_at", "flow_id", "idx"),
    Index(None, "application_id", "status", "created_at"),
    # Tracking search by message type and exact destination (migration 0002).
    Index(None, "application_id", "channel", "flow_id"),
    Index(None, "application_id", "phone", "flow_id"),
)

# One row per flow that waits for something: the durable timer the worker claims.
deadlines = Table(
    "deadlines",
    metadata,
    Column("flow_id", String(36), ForeignKey("flows.id"), primary_key=True),
    Column("due_at", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("step_index", Integer, nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Index(None, "due_at"),
)

# Deployment-wide values generated once (e.g. the Routee callback path token).
service_state = Table(
    "service_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Customer webhooks waiting to be delivered (transactional outbox; migration 0003). One row per
# visible change of a flow, written in the same transaction as the flow; ``seq`` orders a flow's
# events, ``event_id`` is the ``webhook-id`` header (the same on every attempt).
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("flow_id", String(36), nullable=False),
    Column("application_id", String(32), nullable=False),
    Column("url", Text, nullable=False),
    Column("body", Text, nullable=False),
    # pending | delivered | dead
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # host:port of ``url``: attempts in flight are bounded per receiving host (migration 0011).
    Column("target_host", String(255), nullable=True),
    Index(None, "status", "next_attempt_at"),
    Index(None, "flow_id", "status", "seq"),
)

# Idempotency-Key records (migration 0004): one per (application, key), kept for at least
# FOTP_IDEMPOTENCY_TTL_SECONDS. ``state`` is ``in_progress`` while the first request runs (its
# ``flow_id`` is fixed up front, so a retry after a crash resumes that flow) and ``done`` once
# ``response_status``/``response_body`` hold what every replay answers.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("application_id", String(32), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("endpoint", String(64), nullable=False),
    # SHA-256 of the method, path and canonical JSON body.
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("flow_id", String(36), nullable=True),
    Column("response_status", Integer, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index(None, "expires_at"),
)

# Codes the service manages (migration 0004): only a keyed hash of each code, plus the code
# encrypted for the sends still to come (cleared when the flow ends).
otp_codes = Table(
    "otp_codes",
    metadata,
    Column("flow_id", String(36), primary_key=True),
    Column("application_id", String(32), nullable=False),
    Column("phone", String(20), nullable=False),
    # HMAC-SHA256(server key, flow_id || code), hex.
    Column("code_hmac", String(64), nullable=False),
    # The code XOR an HMAC-derived one-time keystream (hex); NULL once no step can be sent.
    Column("code_cipher", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Index(None, "expires_at"),
)

# Fixed-window counters shared by every process (migration 0004): sends per number, prefix,
# application and country, wrong codes per number, estimated spend (in micro-units).
rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key", String(160), primary_key=True),
    # Start of the window, in whole seconds since the epoch.
    Column("window_start", Integer, primary_key=True, autoincrement=False),
    Column("count", Integer, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index(None, "expires_at"),
)

# --- Operators, dashboard sessions and the audit trail (migration 0013) ---

# People who sign in to the dashboard as themselves; passwords are argon2id hashes.
operators = Table(
    "operators",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

# What an operator may do with an application: ``viewer`` (read) or ``admin`` (read, rotate the
# secret, see the audit trail). No row: the application is not theirs to see.
operator_roles = Table(
    "operator_roles",
    metadata,
    Column("operator_id", String(32), ForeignKey("operators.id"), primary_key=True),
    Column("application_id", String(32), ForeignKey("applications.id"), primary_key=True),
    Column("role", String(16), nullable=False),
)

# Dashboard sign-ins, server side, so signing out ends a session in every process at once. The
# cookie holds a random token; only its SHA-256 is stored. ``operator_id`` NULL: signed in with
# the application's secret, whose hash at the time is kept (a new secret ends the session).
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("application_id", String(32), nullable=False),
    Column("operator_id", String(32), nullable=True),
    Column("secret_hash", String(128), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index(None, "expires_at"),
    Index(None, "operator_id"),
)

# What admins did (CLI and dashboard): who, when, to which application, what; never a secret.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("application_id", String(32), nullable=True),
    Column("action", String(64), nullable=False),
    Column("detail", Text, nullable=True),
    Index(None, "at"),
    Index(None, "application_id", "at"),
)

# The daily spend cap (migration 0012), in micro-units of the account currency, per application
# and UTC day (``day``: the day's midnight in seconds since the epoch): what admitted flows may
# still cost (``reserved``, their worst case) and what ended flows were charged (``spent``).
spend_days = Table(
    "spend_days",
    metadata,
    Column("application_id", String(32), primary_key=True),
    Column("day", Integer, primary_key=True, autoincrement=False),
    Column("reserved", BigInteger, nullable=False),
    Column("spent", BigInteger, nullable=False),
)

# One row per flow admitted under the cap (migration 0012): its day and its reservation;
# ``charged`` is NULL while the flow runs and what it was charged once it ended.
spend_reservations = Table(
    "spend_reservations",
    metadata,
    Column("flow_id", String(36), primary_key=True),
    Column("application_id", String(32), nullable=False),
    Column("day", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("charged", BigInteger, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "created_at"),
)

# Sends refused before anything was stored (migration 0010): rate limits, the spend cap, number
# types and countries. One row per application, UTC day (``YYYY-MM-DD``) and reason (the error
# code, or ``rate_limited:<window>``), bumped by an upsert where the refusal is raised.
refusal_counts = Table(
    "refusal_counts",
    metadata,
    Column("application_id", String(32), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("reason", String(64), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("last_at", UTCDateTime, nullable=False),
)

# The delivery model's history (migration 0015): per channel, country, operator, hour (epoch
# seconds of its start) and bin of domain/delivery_model.py, how many sent steps were delivered
# in that bin and how many gave up (or will never be delivered) in it. One upsert per step that
# reaches a final state; a read sums the hours of the sliding window.
delivery_histograms = Table(
    "delivery_histograms",
    metadata,
    Column("channel", String(8), primary_key=True),
    Column("country", String(4), primary_key=True),
    Column("operator", String(100), primary_key=True),
    Column("hour", BigInteger, primary_key=True, autoincrement=False),
    Column("bin", Integer, primary_key=True, autoincrement=False),
    Column("delivered", Integer, nullable=False),
    Column("censored", Integer, nullable=False),
    Index(None, "hour"),
)

# An application's "ttl": "auto" settings (migration 0015, `failover-otp apps auto-ttl`): its
# bounds and threshold, and whether a step that omits its ttl gets auto (``is_default``).
app_ttl_policies = Table(
    "app_ttl_policies",
    metadata,
    Column("application_id", String(32), primary_key=True),
    Column("min_seconds", Float, nullable=False),
    Column("max_seconds", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The dashboard's daily rollups (migration 0016, domain/rollups.py): per application, UTC day,
# channel and country, the counters of every flow whose status is final, kept by the transaction
# that ends a flow (and by any later save that changes what it counts). The charts sum a few
# rows per day instead of reading every flow of their period.


def _rollup_key() -> list[Column[Any]]:
    """The key the three rollup tables share: application, UTC day, channel, country."""
    return [
        Column("application_id", String(32), primary_key=True),
        Column("day", String(10), primary_key=True),
        Column("channel", String(8), primary_key=True),
        Column("country", String(4), primary_key=True),
    ]


flow_rollups = Table(
    "flow_rollups",
    metadata,
    *_rollup_key(),
    Column("flows", Integer, nullable=False),
    Column("otp_flows", Integer, nullable=False),
    Column("verified", Integer, nullable=False),
    Column("succeeded", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("failovers", Integer, nullable=False),
    Column("cost", Float, nullable=False),
    Column("sms_parts", Integer, nullable=False),
)

step_rollups = Table(
    "step_rollups",
    metadata,
    *_rollup_key(),
    Column("steps", Integer, nullable=False),
    Column("delivered", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("priced", Integer, nullable=False),
    Column("price", Float, nullable=False),
)

latency_rollups = Table(
    "latency_rollups",
    metadata,
    *_rollup_key(),
    Column("bucket", Integer, primary_key=True, autoincrement=False),
    Column("deliveries", Integer, nullable=False),
)
