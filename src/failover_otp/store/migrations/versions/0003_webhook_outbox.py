"""customer webhooks: durable outbox and per-application signing secrets

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

- ``webhook_outbox``: one row per webhook event (a flow's visible change), written in the same
  transaction as the flow save, delivered (and retried) by the webhook worker. ``seq`` orders a
  flow's events; ``event_id`` is the ``webhook-id`` header, the same on every attempt.
  ``status`` is ``pending`` until the receiver answers 2xx (``delivered``) or the retry budget runs
  out (``dead``).
- ``applications.webhook_secret``: the symmetric key webhooks are signed with (``whsec_...``);
  retrievable because the customer needs it to verify. Filled lazily on first use.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import failover_otp.store.tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_secret", sa.String(length=128), nullable=True))

    op.create_table(
        "webhook_outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("flow_id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("lease_until", failover_otp.store.tables.UTCDateTime(), nullable=True),
        sa.Column("delivered_at", failover_otp.store.tables.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_webhook_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_outbox_event_id")),
    )
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_outbox_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_outbox_flow_id_status_seq"),
            ["flow_id", "status", "seq"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_outbox_flow_id_status_seq"))
        batch_op.drop_index(batch_op.f("ix_webhook_outbox_status_next_attempt_at"))
    op.drop_table("webhook_outbox")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("webhook_secret")
