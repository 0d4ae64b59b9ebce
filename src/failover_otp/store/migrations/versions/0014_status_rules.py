"""status rules: cancelled flows, Voice call facts

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29

- ``flows.cancelled``: the flow was stopped because its code was verified. A flow that succeeded
  on an SMS ``Sent`` alone may still fail (or fail over) when the final report says so; a
  cancelled one never does, so the fact needs its own column (issue 16).
- ``steps.answered_by`` and ``steps.call_seconds``: who answered a Voice call and how long it
  lasted, as the provider reported them (tracking's ``answeredBy`` and ``duration``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cancelled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_by", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("call_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_column("call_seconds")
        batch_op.drop_column("answered_by")
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.drop_column("cancelled")
