"""standard failover: callback strategy and tracking-search indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

``POST /failover/tracking`` filters an application's flows by creation time and by
``terminationChannel`` (a flows column), and by message ``type`` and destination ``to`` (steps
columns, through ``EXISTS``). The indexes below keep each of those an index range scan:

- flows (application_id, termination_channel, created_at, id): terminationChannel filters;
  ``status`` already has (application_id, status, created_at, id) from 0001.
- steps (application_id, channel, flow_id): ``type is Voice`` can start from the (usually few)
  steps of that channel instead of scanning the application's flows.
- steps (application_id, phone, flow_id): ``to is +30...`` (exact). Partial matches
  (contains / starts_with / ends_with) use the pg_trgm GIN index on steps.phone from 0001 on
  PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_strategy", sa.String(length=16), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_flows_application_id_termination_channel_created_at_id"),
            ["application_id", "termination_channel", "created_at", "id"],
            unique=False,
        )
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_steps_application_id_channel_flow_id"),
            ["application_id", "channel", "flow_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_steps_application_id_phone_flow_id"),
            ["application_id", "phone", "flow_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steps_application_id_phone_flow_id"))
        batch_op.drop_index(batch_op.f("ix_steps_application_id_channel_flow_id"))
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flows_application_id_termination_channel_created_at_id"))
        batch_op.drop_column("callback_strategy")
