"""performance: an index for listing by flow kind

Revision ID: 0009
Revises: 0004
Create Date: 2026-11-23

- flows (application_id, kind, created_at, id): ``GET /otp/failover`` lists the steps of OTP
  flows only. Its total counts the application's matching steps without joining their flows,
  then takes away those of the application's flows of the other kind, found through this index
  (usually few or none) instead of a flow lookup per step. The measurements are in
  docs/benchmarks.md.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_flows_application_id_kind_created_at_id"),
            ["application_id", "kind", "created_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flows_application_id_kind_created_at_id"))
