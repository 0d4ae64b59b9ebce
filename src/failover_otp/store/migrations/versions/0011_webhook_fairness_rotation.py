"""webhooks: the receiving host of each event (fair delivery), and a previous signing secret
kept during a rotation's overlap window

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

- ``webhook_outbox.target_host``: ``host:port`` of the event's URL, so a claim can pass over
  hosts that already have their share of attempts in flight (``FOTP_WEBHOOK_CONCURRENCY_PER_HOST``).
  Filled here for pending events; delivered and dead ones do not need it.
- ``applications.webhook_secret_previous`` / ``webhook_secret_previous_until``: after
  ``apps rotate-webhook-secret --overlap``, webhooks carry a signature with the old secret too,
  until then (Standard Webhooks' multiple signatures).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import failover_otp.store.tables
from failover_otp.domain.outbox import target_host

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_host", sa.String(length=255), nullable=True))
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("webhook_secret_previous", sa.String(length=128), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "webhook_secret_previous_until",
                failover_otp.store.tables.UTCDateTime(),
                nullable=True,
            )
        )
    outbox = sa.table(
        "webhook_outbox",
        sa.column("seq", sa.Integer()),
        sa.column("url", sa.Text()),
        sa.column("status", sa.String()),
        sa.column("target_host", sa.String()),
    )
    conn = op.get_bind()
    pending = conn.execute(
        sa.select(outbox.c.seq, outbox.c.url).where(outbox.c.status == "pending")
    ).all()
    for seq, url in pending:
        conn.execute(
            sa.update(outbox).where(outbox.c.seq == seq).values(target_host=target_host(url))
        )


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("webhook_secret_previous_until")
        batch_op.drop_column("webhook_secret_previous")
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.drop_column("target_host")
