"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import failover_otp.store.tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
    )
    op.create_table(
        "flows",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("label", sa.String(length=350), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("callback_url", sa.Text(), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("plans", sa.JSON(), nullable=False),
        sa.Column("total_cost", sa.Float(), nullable=False),
        sa.Column("termination_channel", sa.String(length=8), nullable=True),
        sa.Column("created_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.Column("updated_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flows")),
    )
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_flows_application_id_created_at_id"),
            ["application_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_flows_application_id_status_created_at_id"),
            ["application_id", "status", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "service_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_service_state")),
    )
    op.create_table(
        "access_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("expires_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_access_tokens_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_access_tokens")),
    )
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_tokens_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "deadlines",
        sa.Column("flow_id", sa.String(length=36), nullable=False),
        sa.Column("due_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("lease_until", failover_otp.store.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["flow_id"], ["flows.id"], name=op.f("fk_deadlines_flow_id_flows")),
        sa.PrimaryKeyConstraint("flow_id", name=op.f("pk_deadlines")),
    )
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadlines_due_at"), ["due_at"], unique=False)

    op.create_table(
        "steps",
        sa.Column("flow_id", sa.String(length=36), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("tracking_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=350), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detailed_status", sa.String(length=64), nullable=True),
        sa.Column("created_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.Column("updated_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.Column("sent_at", failover_otp.store.tables.UTCDateTime(), nullable=True),
        sa.Column("delivered_at", failover_otp.store.tables.UTCDateTime(), nullable=True),
        sa.Column("expired_on_delivery_at", failover_otp.store.tables.UTCDateTime(), nullable=True),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=4), nullable=True),
        sa.Column("operator", sa.String(length=100), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("reject_reason", sa.String(length=32), nullable=True),
        sa.Column("failover_from", sa.String(length=64), nullable=True),
        sa.Column("send_attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["flow_id"], ["flows.id"], name=op.f("fk_steps_flow_id_flows")),
        sa.PrimaryKeyConstraint("flow_id", "idx", name=op.f("pk_steps")),
        sa.UniqueConstraint("tracking_id", name=op.f("uq_steps_tracking_id")),
    )
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_steps_application_id_created_at_flow_id_idx"),
            ["application_id", "created_at", "flow_id", "idx"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_steps_application_id_status_created_at"),
            ["application_id", "status", "created_at"],
            unique=False,
        )

    if op.get_bind().dialect.name == "postgresql":
        _create_trigram_indexes()


def _create_trigram_indexes() -> None:
    """Partial phone and label matches (LIKE '%...%') stay fast on millions of rows."""
    bind = op.get_bind()
    available = bind.exec_driver_sql(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"
    ).scalar()
    if not available:
        return  # without postgresql-contrib partial matches still work, by scanning
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_steps_phone_trgm ON steps USING gin (phone gin_trgm_ops)")
    op.execute("CREATE INDEX ix_steps_label_trgm ON steps USING gin (label gin_trgm_ops)")
    op.execute("CREATE INDEX ix_flows_phone_trgm ON flows USING gin (phone gin_trgm_ops)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_steps_phone_trgm")
    op.execute("DROP INDEX IF EXISTS ix_steps_label_trgm")
    op.execute("DROP INDEX IF EXISTS ix_flows_phone_trgm")
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steps_application_id_status_created_at"))
        batch_op.drop_index(batch_op.f("ix_steps_application_id_created_at_flow_id_idx"))

    op.drop_table("steps")
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadlines_due_at"))

    op.drop_table("deadlines")
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_tokens_expires_at"))

    op.drop_table("access_tokens")
    op.drop_table("service_state")
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flows_application_id_status_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_flows_application_id_created_at_id"))

    op.drop_table("flows")
    op.drop_table("applications")
