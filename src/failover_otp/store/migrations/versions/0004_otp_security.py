"""security: idempotency keys, managed codes, abuse counters

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

- ``idempotency_keys``: one row per (application, Idempotency-Key): the request's fingerprint,
  the flow it creates (fixed before the flow is), and the response every replay answers.
- ``otp_codes``: codes the service generates, as ``HMAC-SHA256(server key, flow_id || code)``,
  the code encrypted only while a step may still be sent, and the verification state
  (attempts, used_at, expires_at).
- ``rate_counters``: fixed-window counters shared by every process (one atomic upsert per
  increment): sends per number, prefix, application and country, wrong codes per number.

Each table has an ``expires_at`` index for the purge of old rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import failover_otp.store.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("flow_id", sa.String(length=36), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.Column("lease_until", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.Column("expires_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("application_id", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "otp_codes",
        sa.Column("flow_id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("code_hmac", sa.String(length=64), nullable=False),
        sa.Column("code_cipher", sa.String(length=64), nullable=True),
        sa.Column("created_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.Column("expires_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", failover_otp.store.tables.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("flow_id", name=op.f("pk_otp_codes")),
    )
    with op.batch_alter_table("otp_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_otp_codes_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("window_start", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_counters")),
    )
    with op.batch_alter_table("rate_counters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rate_counters_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rate_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_counters_expires_at"))
    op.drop_table("rate_counters")
    with op.batch_alter_table("otp_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_otp_codes_expires_at"))
    op.drop_table("otp_codes")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_expires_at"))
    op.drop_table("idempotency_keys")
