"""learned failover timing: the delivery model's histograms and each auto step's chosen ttl

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29

- delivery_histograms: per channel, country, operator ("" when unknown), hour and bin of
  domain/delivery_model.py, how many sent steps were delivered in that bin and how many gave up
  in it; one upsert per step that reaches a final state (store/delivery_store.py).
- app_ttl_policies: an application's auto ttl bounds and threshold, and whether a step that
  omits its ttl gets auto (`failover-otp apps auto-ttl`).
- steps.ttl_seconds / steps.ttl_reason: the ttl a ``"ttl": "auto"`` step was given, and why
  (NULL for a fixed ttl).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ttl_seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("ttl_reason", sa.Text(), nullable=True))
    op.create_table(
        "delivery_histograms",
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("country", sa.String(length=4), nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.Column("hour", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("bin", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("censored", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "channel", "country", "operator", "hour", "bin", name=op.f("pk_delivery_histograms")
        ),
    )
    op.create_index(
        op.f("ix_delivery_histograms_hour"), "delivery_histograms", ["hour"], unique=False
    )
    op.create_table(
        "app_ttl_policies",
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("min_seconds", sa.Float(), nullable=False),
        sa.Column("max_seconds", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_app_ttl_policies")),
    )


def downgrade() -> None:
    op.drop_table("app_ttl_policies")
    op.drop_index(op.f("ix_delivery_histograms_hour"), table_name="delivery_histograms")
    op.drop_table("delivery_histograms")
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_column("ttl_reason")
        batch_op.drop_column("ttl_seconds")
