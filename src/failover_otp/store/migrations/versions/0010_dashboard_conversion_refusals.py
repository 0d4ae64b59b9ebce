"""dashboard: when a flow's code was verified, and counts of refused sends

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

- flows.verified_at: set once, in the transaction that spends the flow's code
  (``CodeStore.mark_used``). The code's own row (otp_codes) is purged a day after it expires;
  conversion (the share of flows whose code was verified) must outlive it.
- refusal_counts: sends refused before anything was stored (429 rate limits and spend cap, 422
  number type and country), one row per application, UTC day and reason, bumped with one upsert
  where the refusal is raised (``AbuseGuard.admit``). The dashboard shows them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(), nullable=True))
    op.create_table(
        "refusal_counts",
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("application_id", "day", "reason", name=op.f("pk_refusal_counts")),
    )


def downgrade() -> None:
    op.drop_table("refusal_counts")
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.drop_column("verified_at")
