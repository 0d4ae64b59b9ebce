"""spend reservations: the daily spend cap as one atomic step per application and day

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

- ``spend_days``: per application and UTC day, in micro-units of the account currency, what
  admitted flows may still cost (``reserved``: their worst case) and what ended flows were
  charged (``spent``). Admission is one conditional upsert on this row
  (``reserved = reserved + x WHERE reserved + spent + x <= cap``).
- ``spend_reservations``: one row per admitted flow: its day, its reservation, and once it
  ended what it was charged. Released in the transaction that ends the flow.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import failover_otp.store.tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spend_days",
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("spent", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("application_id", "day", name=op.f("pk_spend_days")),
    )
    op.create_table(
        "spend_reservations",
        sa.Column("flow_id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("charged", sa.BigInteger(), nullable=True),
        sa.Column("created_at", failover_otp.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("flow_id", name=op.f("pk_spend_reservations")),
    )
    with op.batch_alter_table("spend_reservations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spend_reservations_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("spend_reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spend_reservations_created_at"))
    op.drop_table("spend_reservations")
    op.drop_table("spend_days")
