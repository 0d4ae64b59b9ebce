"""dashboard: daily rollups of finished flows, backfilled

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29

- flow_rollups, step_rollups, latency_rollups: per application, UTC day, channel and country,
  the counters the dashboard's charts and tiles (and ``GET /stats/conversion``) read instead of
  every flow of their period (domain/rollups.py, store/rollup_store.py). Kept by the transaction
  that ends a flow; unfinished flows are added when they are read.
- The backfill counts every finished flow already stored, with the same SQL the reads use for
  unfinished flows (store/rollup_sql.py): on a million flows it takes about a minute.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from failover_otp.store.rollup_sql import rebuild_statements

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_KEY = (
    sa.Column("application_id", sa.String(length=32), nullable=False),
    sa.Column("day", sa.String(length=10), nullable=False),
    sa.Column("channel", sa.String(length=8), nullable=False),
    sa.Column("country", sa.String(length=4), nullable=False),
)
_PK = ("application_id", "day", "channel", "country")


def _key() -> list[sa.Column[str]]:
    return [c._copy() for c in _KEY]


def upgrade() -> None:
    op.create_table(
        "flow_rollups",
        *_key(),
        sa.Column("flows", sa.Integer(), nullable=False),
        sa.Column("otp_flows", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("failovers", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("sms_parts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*_PK, name=op.f("pk_flow_rollups")),
    )
    op.create_table(
        "step_rollups",
        *_key(),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("priced", sa.Integer(), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(*_PK, name=op.f("pk_step_rollups")),
    )
    op.create_table(
        "latency_rollups",
        *_key(),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*_PK, "bucket", name=op.f("pk_latency_rollups")),
    )
    bind = op.get_bind()
    for statement in rebuild_statements(bind.dialect.name):
        bind.execute(statement)


def downgrade() -> None:
    op.drop_table("latency_rollups")
    op.drop_table("step_rollups")
    op.drop_table("flow_rollups")
